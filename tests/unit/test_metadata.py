"""A caller's metadata: what is refused where it enters, its hash, and the CLI's --meta/--where."""

import pytest

from ingest_tasks.core.errors import InvalidMetadata, PermanentError
from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.cli import parser
from ingest_tasks.interfaces.cli.arguments import meta_value
from ingest_tasks.pipeline.metadata import check_metadata, metadata_hash
from ingest_tasks.pipeline.sources import DocRef


@pytest.fixture
def settings():
    return get_settings().model_copy(update={"metadata_max_keys": 4, "metadata_max_bytes": 100})


def test_strings_numbers_and_booleans_are_taken_as_given(settings):
    given = {"team": "red", "year": 2024, "score": 0.5, "draft": False, "note": "ünï €"}
    checked = check_metadata(given, get_settings())
    assert checked == given and checked is not given
    assert check_metadata({}, settings) == {}


@pytest.mark.parametrize("metadata, says", [
    (["team", "red"], "is an object of keys and values, not list"),
    ({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, r"5 keys, over the limit of 4 \(INGEST_METADATA"),
    ({"note": "x" * 120}, r"over the limit of 100 \(INGEST_METADATA_MAX_BYTES\)"),
    ({"doc_id": "mine"}, "'doc_id' is reserved"),
    ({"chunk_index": 3}, "'chunk_index' is reserved"),
    ({"encoding": "utf-8"}, "'encoding' is reserved"),
    ({"$and": 1}, "no key may start with"),
    ({"#document": "x"}, "no key may start with"),
    ({"chroma:document": "x"}, "no key may start with"),
    ({"ingest_lane": "x"}, "no key may start with"),
    ({"": 1}, "not a non-empty string"),
    ({" ": 1}, "not a non-empty string"),
    ({1: "one"}, "not a non-empty string"),
    ({"k" * 65: 1}, "of 65 bytes is over the limit of 64"),
    ({"a\nb": 1}, "control character"),
    ({"a": None}, "is null: values are strings, numbers and booleans"),
    ({"a": [1, 2]}, "is list"),
    ({"a": {"b": 1}}, "is dict"),
    ({"a": float("nan")}, "numbers are finite"),
    ({"a": float("-inf")}, "numbers are finite"),
    ({"a": 2**63}, "64-bit"),
    ({"a": "\ud800"}, "lone surrogate"),
    ({"a": "nul\0"}, "NUL"),
])
def test_bad_metadata_is_refused_saying_why(settings, metadata, says):
    with pytest.raises(InvalidMetadata, match=says) as refused:
        check_metadata(metadata, settings)
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, PermanentError)
    assert refused.value.reason.startswith("metadata: ")


def test_the_hash_is_of_the_content_not_the_order_and_none_has_none():
    assert metadata_hash({}) == ""
    assert metadata_hash({"a": 1, "b": "x"}) == metadata_hash({"b": "x", "a": 1})
    assert len({metadata_hash({"a": v}) for v in (1, 1.0, True, "1")}) == 4


def test_a_message_without_metadata_still_reads_and_one_with_it_round_trips():
    old = {"doc_id": "d", "source": "d.md", "version": 1, "size": 2, "submitted": 0.0,
           "content": ""}
    assert DocRef.from_dict(old).metadata == {}
    ref = DocRef.inline("d", b"hi", "d.md", 3, {"team": "red", "n": 2})
    assert DocRef.from_dict(ref.to_dict()) == ref and ref.to_dict()["metadata"] == {
        "team": "red", "n": 2}


@pytest.mark.parametrize("text, value", [
    ("red", "red"), ("true", True), ("false", False), ("True", "True"), ("12", 12), ("-3", -3),
    ("0", 0), ("1.5", 1.5), ("2e3", 2000.0), ("-0.25", -0.25), ('"12"', "12"), ('"true"', "true"),
    ("007", "007"), ("1.", "1."), ("nan", "nan"), ("inf", "inf"), ("", ""), ("a=b", "a=b"),
    ("1_000", "1_000"),
])
def test_meta_values_on_the_command_line(text, value):
    parsed = meta_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_meta_options_gather_into_one_object_and_where_is_checked_json():
    args = parser().parse_args(["submit", "a.md", "--meta", "team=red", "--meta", "year=2024",
                                "--meta", "eq=a=b"])
    assert args.meta == {"team": "red", "year": 2024, "eq": "a=b"}
    assert parser().parse_args(["batch", "docs"]).meta is None
    args = parser().parse_args(["search", "q", "--where", '{"year": {"$gte": 2020}}'])
    assert args.where == {"year": {"$gte": 2020}}
    assert parser().parse_args(["search", "q"]).where is None


@pytest.mark.parametrize("argv", [
    ["submit", "a.md", "--meta", "team"],
    ["submit", "a.md", "--meta", "=red"],
    ["batch", "docs", "--meta", "team=red", "--meta", "team=blue"],
    ["search", "q", "--where", "{team: red}"],
    ["search", "q", "--where", '{"a": 1, "b": 2}'],
    ["search", "q", "--where", '{"a": {"$gt": "x"}}'],
])
def test_a_wrong_meta_or_where_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == 2
    assert "--meta" in capsys.readouterr().err or "--where" in argv
