"""The syncs' task through a real worker of the sources queue (the `sources` pool of
`ingest up`, started with the beat), a busy source skipped, and what `ingest sources` and
the metrics show then."""

import json
import os
import uuid

import pytest

from ingest_tasks.core.errors import SourceError
from ingest_tasks.core.keys import SOURCE_KEY
from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces import cli
from ingest_tasks.interfaces.cli.console import OK, when
from ingest_tasks.ops.metrics import Collector
from ingest_tasks.ops.stack import Stack
from ingest_tasks.state import jobs
from ingest_tasks.sync import beat, runner, status
from ingest_tasks.sync.sources import Source
from ingest_tasks.sync.tasks import SYNC

NAME = f"notes-{uuid.uuid4().hex[:6]}"  # the suite's Redis keeps sources across modules
SCHEDULE = "0 3 1 1 *"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The sources pool and the beat, for a configured source (yearly: the beat sends nothing
    while the tests run) of a folder of three notes."""
    from ingest_tasks.lanes.factory import create_app

    folder = tmp_path_factory.mktemp("notes")
    for n in range(3):
        (folder / f"note-{n}.md").write_text(f"# Note {n}\n\nThe {n}th note.\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INGEST_SOURCES", json.dumps(
            {NAME: {"uri": str(folder), "schedule": SCHEDULE}}))
        get_settings.cache_clear()  # the pool, the client and the CLI read the environment
        stack = Stack(get_settings())
        stack.up(["sources", "beat"], report=lambda line: None)
        app = create_app(get_settings())
        try:
            yield app
        finally:
            stack.down(["sources", "beat"], report=lambda line: None)
            app.control.purge()  # the job and tombstones sent: no lane's worker here
    get_settings.cache_clear()


def test_the_beat_holds_its_lock_and_keeps_the_sources_schedule_in_redis(app):
    settings, redis = app.settings, app.resources.redis
    assert redis.exists(beat.lock_key(settings))
    assert beat.record(redis, settings, NAME)["last_run_at"]  # redbeat's entry, made at start
    entry = json.loads(redis.hget(beat.prefix(settings) + NAME, "definition"))
    assert (entry["task"], entry["args"]) == (SYNC, [NAME])


def test_the_sync_task_syncs_a_configured_source_on_the_sources_pool(app):
    report = app.send_task(SYNC, [NAME]).get(timeout=60)
    assert (report["source"], report["new"], report["unchanged"]) == (NAME, 3, 0)
    assert jobs.progress(app.resources.redis, report["job_id"])["total"] == 3
    last = status.last(app.resources.redis, NAME)
    assert (last["trigger"], last["scope"], last["job_id"]) == ("schedule", "all", report["job_id"])


def test_a_source_busy_with_another_sync_is_skipped_not_failed(app):
    lock = status.exclusive(app.resources.redis, f"{SOURCE_KEY}{NAME}:lock", 10, 0, "{}")
    with lock:
        result = app.send_task(SYNC, [NAME]).get(timeout=60)
    assert result["source"] == NAME
    assert result["skipped"].startswith(f"a sync of {NAME} is running (pid {os.getpid()} on ")


def test_an_unknown_source_fails_the_task_saying_so(app):
    with pytest.raises(SourceError, match="no configured source is named 'nope'"):
        app.send_task(SYNC, ["nope"]).get(timeout=60)


def test_ingest_sources_shows_each_source_with_its_last_sync_next_run_and_watcher(app, tmp_path,
                                                                                 capsys):
    redis = app.resources.redis
    (tmp_path / "one.txt").write_text("a source synced by its URI, not configured")
    runner.sync(app, Source(str(tmp_path), str(tmp_path)))
    with status.watching(redis, NAME, 10):
        assert cli.main(["sources", "--json"]) == OK
        rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
        assert cli.main(["sources"]) == OK
        shown = capsys.readouterr().out
        scraped = {(m.name, s.labels.get("source"), s.labels.get("outcome")): s.value
                   for m in Collector(app, redis).collect() for s in m.samples}
    mine, other = rows[NAME], rows[str(tmp_path)]
    assert (mine["configured"], mine["schedule"], mine["last"]["trigger"]) == (True, SCHEDULE,
                                                                              "schedule")
    assert mine["last"] == mine["last_full"] and mine["last"]["new"] == 3
    assert mine["next_run"] > mine["last"]["finished"]
    assert mine["watcher"].startswith(f"pid {os.getpid()} on ")
    assert (other["configured"], other["uri"], other["next_run"], other["watcher"]) == (
        False, str(tmp_path), None, None)
    assert (other["last"]["trigger"], other["last"]["new"]) == ("cli", 1)
    assert f"{NAME}\n  uri             {mine['uri']}\n" in shown
    assert "(schedule): 3 new, 0 changed, 0 deleted, 0 unchanged; " in shown
    assert f"  next run        {when(mine['next_run'])} ({SCHEDULE})\n" in shown
    assert f"{other['name']}\n  uri             {other['uri']} (not configured)\n" in shown
    assert scraped[("ingest_source_last_sync_documents", NAME, "new")] == 3
    ended = scraped[("ingest_source_last_sync_timestamp_seconds", NAME, None)]
    assert ended == mine["last"]["finished"]
    assert scraped[("ingest_source_watcher_up", NAME, None)] == 1
    assert scraped[("ingest_source_watcher_up", str(tmp_path), None)] == 0
