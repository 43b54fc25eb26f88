"""Settings from the environment, and discovering documents on disk."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest_tasks.core.errors import SourceError, SourceOutsideRoots
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.roots import check_submitted, remember
from ingest_tasks.pipeline.sources import discover, read_file


def test_settings_read_the_ingest_prefix(monkeypatch):
    monkeypatch.setenv("INGEST_CHUNK_TOKENS", "120")
    monkeypatch.setenv("INGEST_BROKER_URL", "amqp://guest@localhost//")
    settings = Settings()
    assert settings.chunk_tokens == 120
    assert settings.broker == "amqp://guest@localhost//"
    assert settings.backend == settings.redis_url


def test_settings_read_an_env_file_and_the_environment_wins(monkeypatch, tmp_path):
    env = tmp_path / "ingest.env"
    env.write_text("# a comment\nINGEST_CHUNK_TOKENS=120  # inline\nINGEST_EMBED_BATCH=8\n"
                   "OTHER_PROGRAM=1\n")
    monkeypatch.setenv("INGEST_ENV_FILE", str(env))
    monkeypatch.setenv("INGEST_EMBED_BATCH", "2")
    settings = Settings()
    assert (settings.chunk_tokens, settings.embed_batch) == (120, 2)


def test_config_ingest_env_of_the_current_folder_is_read(monkeypatch, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "ingest.env").write_text("INGEST_CHUNK_TOKENS=90\n")
    monkeypatch.delenv("INGEST_ENV_FILE", raising=False)
    monkeypatch.delenv("INGEST_CHUNK_TOKENS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().chunk_tokens == 90


def test_a_missing_env_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("INGEST_ENV_FILE", str(tmp_path / "nope.env"))
    with pytest.raises(ValueError, match="nope.env, which is not a file"):
        Settings()


def test_roots_remembered_by_ingest_up_join_the_settings(tmp_path):
    docs, state = tmp_path / "docs", tmp_path / "state"
    docs.mkdir()
    settings = Settings(source_roots="/srv/a", state_dir=state)
    assert settings.roots == [Path("/srv/a")]
    assert remember(state, [docs, docs]) == [docs]
    assert remember(state, [docs]) == []
    assert settings.roots == [Path("/srv/a"), docs]  # read afresh: running workers see it
    other = tmp_path / "other"
    other.mkdir()
    assert remember(state, [other]) == [other]  # the file changed again: read again
    assert settings.roots == [Path("/srv/a"), docs, other]
    with pytest.raises(SourceError, match="not a folder"):
        remember(state, [tmp_path / "missing"])


def test_a_path_outside_the_roots_is_refused_with_what_to_run(tmp_path):
    (tmp_path / "in").mkdir()
    check_submitted([tmp_path / "in"], [tmp_path])
    with pytest.raises(SourceOutsideRoots, match=r"\(none\): run `ingest up --source-root "):
        check_submitted([tmp_path / "in" / "a.md"], [])


def test_time_limits_must_stay_below_the_visibility_timeout():
    with pytest.raises(ValidationError, match="visibility_timeout"):
        Settings(visibility_timeout=100, task_time_limit=200, task_soft_time_limit=150)


def test_discover_takes_supported_files_of_folders_and_named_files(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("a")
    (tmp_path / "docs" / "sub" / "b.html").write_text("b")
    (tmp_path / "docs" / "notes.ods").write_text("x")
    (tmp_path / "docs" / ".hidden.md").write_text("x")
    (tmp_path / "c.xyz").write_text("c")
    refs, skipped = discover([tmp_path / "docs", tmp_path / "c.xyz"])
    assert [r.doc_id for r in refs] == ["a.md", "sub/b.html", "c.xyz"]
    assert [p.name for p in skipped] == ["notes.ods"]
    assert refs[0].size == 1


def test_missing_and_oversized_sources_are_refused(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        discover([tmp_path / "nope"])
    big = tmp_path / "big.txt"
    big.write_text("x" * 100)
    with pytest.raises(SourceError, match="over the limit"):
        read_file(big, max_bytes=10)


def test_the_example_env_file_names_every_setting_with_its_default():
    text = (Path(__file__).parents[2] / "config" / "ingest.env").read_text()
    for name, field in Settings.model_fields.items():
        line = re.search(rf"^# INGEST_{name.upper()}=(\S*)", text, re.MULTILINE)
        assert line, name
        if field.default_factory is None:
            assert line[1] == str(field.default), name


def test_a_lock_lease_that_could_outlast_the_soft_time_limit_is_refused():
    with pytest.raises(ValidationError, match="lock_lease_seconds"):
        Settings(visibility_timeout=30, task_time_limit=25, task_soft_time_limit=20,
                 document_time_limit=15, lock_lease_seconds=15)  # waits end at 0.75 x 20 s
    assert Settings(visibility_timeout=30, task_time_limit=25, task_soft_time_limit=20,
                    document_time_limit=15).lock_lease_seconds == 10
