"""The HTTP API's pieces that need no server: keys and scopes, upload names."""

import pytest

from ingest_tasks.core.errors import SourceError
from ingest_tasks.core.settings import Settings
from ingest_tasks.interfaces.http.auth import ApiKey, digest, new_key, parse_keys
from ingest_tasks.interfaces.http.uploads import base_name, make_readable


def test_a_new_key_is_stored_as_its_digest_only():
    secret, entry = new_key("app", "write")
    assert secret not in entry
    assert parse_keys(entry) == {digest(secret): ApiKey("app", "write")}


@pytest.mark.parametrize("held, needed, allowed", [
    ("read", "read", True), ("read", "write", False), ("write", "read", True),
    ("write", "admin", False), ("admin", "write", True)])
def test_scopes_nest(held, needed, allowed):
    assert ApiKey("k", held).allows(needed) is allowed


@pytest.mark.parametrize("spec, problem", [
    ("app:owner:" + "0" * 64, "scope 'owner'"),
    ("app:read:ik_the-key-itself", "never the key itself"),
    ("bad name:read:" + "0" * 64, "a name is"),
])
def test_a_wrong_key_entry_says_which_and_why(spec, problem):
    with pytest.raises(ValueError, match=problem):
        parse_keys(spec)


def test_entries_are_comma_separated_and_blanks_ignored():
    _, one = new_key("one", "read")
    _, two = new_key("two", "admin")
    assert {key.name for key in parse_keys(f" {one}, ,{two},").values()} == {"one", "two"}


@pytest.mark.parametrize("given, kept", [
    ("report.pdf", "report.pdf"), ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\a.docx", "a.docx"),
    ("dir/sub/note.md", "note.md")])
def test_an_upload_keeps_its_base_name_only(given, kept):
    assert base_name(given) == kept


@pytest.mark.parametrize("given", [None, "", "..", "a/..", "nul\x00.md", "x" * 300])
def test_an_upload_without_a_usable_name_is_refused(given):
    with pytest.raises(SourceError):
        base_name(given)


def test_the_uploads_folder_becomes_a_source_root_unless_under_one(tmp_path):
    state = tmp_path / "state"
    alone = Settings(source_roots=str(tmp_path / "docs"), state_dir=state)
    assert make_readable(alone) == state / "uploads" and (state / "uploads").is_dir()
    assert alone.roots == [tmp_path / "docs", (state / "uploads").resolve()]  # remembered
    covered = Settings(source_roots=str(tmp_path), state_dir=tmp_path / "other")
    make_readable(covered)
    assert covered.roots == [tmp_path]  # already readable: nothing remembered


def test_readiness_names_a_store_that_does_not_answer(tmp_path):
    from fastapi.testclient import TestClient

    from ingest_tasks.core.settings import get_settings
    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.interfaces.http.api import create_api
    from ingest_tasks.testing.stacks import free_port

    _, entry = new_key("probe", "read")
    settings = get_settings().model_copy(update={"chroma_port": free_port(), "api_keys": entry,
                                                 "state_dir": tmp_path})
    with TestClient(create_api(IngestClient(settings))) as http:
        ready = http.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert (checks["redis"], checks["broker"]) == ("ok", "ok")
    assert checks["chroma"].startswith("StoreUnavailable: ")
