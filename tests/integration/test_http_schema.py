"""Schemathesis against the served OpenAPI schema: no request it makes, valid or not,
gets a server error (5xx) or an answer its schema does not allow."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_tasks.interfaces.http.auth import new_key
from ingest_tasks.interfaces.http.server import serving

ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def api(settings):
    """The API over the test stack with an admin key; yields (URL, key). A stream
    submission waits 5 s at most, so generated `wait=true` requests stay short."""
    from ingest_tasks.interfaces.client import IngestClient

    secret, entry = new_key("schemathesis", "admin")
    ingest = IngestClient(settings.model_copy(update={"api_keys": entry, "api_wait_seconds": 5}))
    with serving(ingest) as url:
        yield url, secret


@pytest.mark.skipif(not ST.exists() and not shutil.which("st"), reason="schemathesis not installed")
def test_no_server_error_and_answers_match_the_schema(api, tmp_path):
    url, key = api
    run = subprocess.run(
        [str(ST if ST.exists() else shutil.which("st")), "run", f"{url}/openapi.json",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                     "response_schema_conformance",
         "--header", f"Authorization: Bearer {key}", "--max-examples", "12", "--seed", "1",
         "--request-timeout", "60", "--phases", "examples,coverage,fuzzing",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache folder there
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
