"""The tokenizers of api: models, as settings name them: a tokenizer.json, a local model's
tokenizer read without its weights, or a character budget."""

import json
import re
import shutil
import subprocess
import sys

import pytest
from pydantic import ValidationError

from ingest_tasks.core.models import TokenizerSpec
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.chunk import chunk_text
from ingest_tasks.pipeline.embed import chunking_tokenizer, get_embedder
from ingest_tasks.pipeline.embed.minilm import TOKENIZER as MINILM_TOKENIZER
from tests.servers import ROOT

TEXT = " ".join(f"Sentence {i} tells of the {('owl', 'heron', 'lynx')[i % 3]}, "
                f"which lives {i} km north." for i in range(80))


def tokenizer_of(model: str, context: int = 512, **settings):
    """The chunking tokenizer that settings give the api: model `model`."""
    spec = Settings(**settings).api_tokenizer(model)
    return chunking_tokenizer(spec, context)


def assert_chunks_cover(text: str, tokenizer) -> None:
    """Windows of the tokenizer's tokens hold every word of the text, in order."""
    ids, spans = tokenizer.tokenize(text)
    assert len(ids) == len(spans) > 0
    chunks = chunk_text(text, ids, spans, size=40, overlap=8)
    assert len(chunks) > 1
    joined = " ".join(chunk.text for chunk in chunks)
    assert set(re.findall(r"\w+", joined)) == set(re.findall(r"\w+", text))
    for chunk in chunks:
        assert chunk.text in text and chunk.tokens <= 40


def test_a_tokenizer_json_cuts_in_its_own_tokens_within_its_context(tmp_path):
    path = tmp_path / "e5" / "tokenizer.json"
    path.parent.mkdir()
    shutil.copy(MINILM_TOKENIZER, path)  # a BERT WordPiece tokenizer.json, as e5's and bge's

    tokenizer = tokenizer_of("api:my-e5", 64,
                             embedding_api_tokenizers=json.dumps({"my-e5": str(path)}))

    assert tokenizer.max_tokens == 64 - 2  # [CLS] and [SEP] fill the rest
    local = get_embedder("all-MiniLM-L6-v2")
    assert tokenizer.tokenize(TEXT) == local.tokenize(TEXT)
    _, spans = tokenizer.tokenize(TEXT)
    assert [TEXT[a:b].lower() for a, b in spans[:3]] == ["sentence", "0", "tells"]
    assert_chunks_cover(TEXT, tokenizer)
    fitted = tokenizer.fit(TEXT)
    assert fitted == TEXT[: spans[61][1]] and len(tokenizer.tokenize(fitted)[0]) == 62
    assert tokenizer.fit("short text") == "short text"


def test_a_local_models_tokenizer_is_read_without_its_weights():
    code = (
        "import json, sys\n"
        "from ingest_tasks.core.settings import Settings\n"
        "from ingest_tasks.pipeline.embed import chunking_tokenizer\n"
        "settings = Settings(embedding_api_tokenizers='{\"api:bge\": \"wordllama\"}')\n"
        "tokenizer = chunking_tokenizer(settings.api_tokenizer('api:bge'), 512)\n"
        "ids, spans = tokenizer.tokenize(sys.argv[1])\n"
        "print(json.dumps([ids, spans, tokenizer.max_tokens,"
        " sorted(m for m in ('wordllama', 'onnxruntime') if m in sys.modules)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, TEXT], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    ids, spans, max_tokens, loaded = json.loads(done.stdout)
    local = get_embedder("wordllama")
    assert (ids, [tuple(span) for span in spans]) == local.tokenize(TEXT)
    assert max_tokens == local.max_tokens and loaded == []


def test_an_api_local_model_keeps_its_tokenizer_and_another_gets_the_default():
    assert Settings().api_tokenizer("api:wordllama") == TokenizerSpec(model="wordllama")
    assert Settings().api_tokenizer("api:text-embedding-3-small") == TokenizerSpec(chars=2000)
    named = Settings(embedding_api_tokenizers='{"wordllama": "chars:900"}',
                     embedding_api_tokenizer="all-MiniLM-L6-v2")
    assert named.api_tokenizer("api:wordllama") == TokenizerSpec(chars=900)
    assert named.api_tokenizer("api:e5") == TokenizerSpec(model="all-MiniLM-L6-v2")


def test_a_character_budget_cuts_words_and_sends_at_most_its_characters():
    tokenizer = tokenizer_of("api:text-embedding-3-small", embedding_api_tokenizer="chars:300")
    assert tokenizer.max_tokens == 300
    _, spans = tokenizer.tokenize("Hi, owl-ish thing!")
    assert ["Hi, owl-ish thing!"[a:b] for a, b in spans] == ["Hi", ",", "owl", "-", "ish",
                                                               "thing", "!"]
    assert_chunks_cover(TEXT, tokenizer)
    unspaced = "鳥" * 30  # a script without spaces still cuts: 12 characters a token at most
    assert [b - a for a, b in tokenizer.tokenize(unspaced)[1]] == [12, 12, 6]
    assert tokenizer.fit(TEXT) == TEXT[:300] and tokenizer.fit("short") == "short"


@pytest.mark.parametrize(("settings", "error"), [
    ({"embedding_api_tokenizer": "cl100k_base"},
     r"INGEST_EMBEDDING_API_TOKENIZER: .*cl100k_base.* is none of chars:N, a local model"),
    ({"embedding_api_tokenizer": "chars:8"}, r"chars:N, N >= 16"),
    ({"embedding_api_tokenizers": '{"e5": "/no/such/tokenizer.json"}'},
     r"INGEST_EMBEDDING_API_TOKENIZERS, model 'e5': .* no such file"),
    ({"embedding_api_tokenizers": '{"e5": 512}'}, r"a JSON object of model name -> tokenizer"),
    ({"embedding_api_tokenizers": "e5=chars:100"}, r"INGEST_EMBEDDING_API_TOKENIZERS is not JSON"),
])
def test_a_tokenizer_setting_that_names_nothing_is_refused_at_load(settings, error):
    with pytest.raises(ValidationError, match=error):
        Settings(**settings)
