"""The `ingest` command as scripts use it: source roots checked before sending, exit codes."""

import json
import os
import subprocess
import sys
import time

import pytest

from ingest_tasks.interfaces.cli.console import ERROR, OK, SOME_FAILED, USAGE


def ingest(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `ingest ARGS` as a user would, with `env` added to the test environment."""
    return subprocess.run([sys.executable, "-m", "ingest_tasks.interfaces.cli", *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env}, check=False)


@pytest.fixture
def folder(tmp_path):
    """A folder of two notes."""
    for name in ("alpha.md", "beta.md"):
        (tmp_path / name).write_text(f"The {name} note is about harbour cranes and tides.\n")
    return tmp_path


def test_a_folder_outside_the_roots_fails_at_once_saying_what_to_run(client, folder, tmp_path):
    roots = {"INGEST_SOURCE_ROOTS": str(tmp_path / "elsewhere"),
             "INGEST_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "elsewhere").mkdir()
    jobs = client.recent_jobs()
    started = time.monotonic()
    run = ingest("batch", str(folder), **roots)
    assert time.monotonic() - started < 10  # the interpreter's start included; ~0.8 s idle
    assert run.returncode == ERROR
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"{folder} is outside the workers' source roots" in lines[0]
    assert f"`ingest up --source-root {folder}`" in lines[0]
    assert client.recent_jobs() == jobs  # nothing was sent

    added = ingest("up", "--source-root", str(folder), "redis", **roots)
    assert added.returncode == OK, added.stderr
    assert f"source root added: {folder}" in added.stderr
    run = ingest("batch", str(folder), "--json", **roots)
    assert run.returncode == OK, run.stderr
    assert json.loads(run.stdout)["committed"] == 2


def test_some_failed_documents_exit_3_and_still_commit_the_rest(folder):
    (folder / "blank.md").write_text("   \n")
    run = ingest("batch", str(folder), "--json")
    assert run.returncode == SOME_FAILED, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["failed"], summary["total"] - summary["failed"]) == (1, 2)
    shown = ingest("status", summary["job_id"])
    assert shown.returncode == SOME_FAILED and "blank.md" in shown.stdout
    assert "Where the time went" in shown.stdout and "store busy in steady" in shown.stdout


def test_usage_errors_exit_2_and_errors_exit_1():
    assert ingest("batch", "--no-such-option").returncode == USAGE
    assert ingest("batch").returncode == USAGE  # neither PATH nor --resume
    unknown = ingest("status", "no-such-job")
    assert unknown.returncode == ERROR and "unknown job" in unknown.stderr
    version = ingest("--version")
    assert version.returncode == OK and version.stdout.startswith("ingest ")

