"""Two beats running for the same schedule start one sync per tick (issue 17's acceptance):
two real `celery beat` processes (`python -m workers beat`) for one source every second,
nothing consuming the sources queue; redbeat's own record of the ticks in Redis against
the messages queued."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from ingest_tasks.core.keys import SOURCES_QUEUE
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes.backpressure import queue_depth
from ingest_tasks.lanes.factory import create_app
from ingest_tasks.sync import beat

SOURCE = "ticking"


def test_two_beats_start_one_sync_per_tick(tmp_path):
    env = {**os.environ, "INGEST_COLLECTION_PREFIX": f"test-beats-{uuid.uuid4().hex[:6]}",
           "INGEST_SOURCES": json.dumps({SOURCE: {"uri": str(tmp_path), "schedule": "every 1s"}}),
           "INGEST_BEAT_LOCK_TIMEOUT": "5"}  # the beats loop (and the waiting one asks) every 1 s
    settings = Settings(collection_prefix=env["INGEST_COLLECTION_PREFIX"])  # its own beat keys
    app = create_app(settings)
    redis = app.resources.redis
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(SOURCES_QUEUE)
    logs = {_start(env, tmp_path / f"beat-{n}.log"): tmp_path / f"beat-{n}.log" for n in (1, 2)}

    def ticked(after: int, running: list[subprocess.Popen]) -> int | None:
        """The ticks recorded once past `after`, their messages all sent; `running` alive."""
        assert all(b.poll() is None for b in running), [log.read_text() for log in logs.values()]
        count = beat.record(redis, settings, SOURCE).get("total_run_count", 0)
        return count if count > after and queue_depth(app, SOURCES_QUEUE) == count else None

    try:
        seen = poll_until(lambda: ticked(1, list(logs)), 60, "two ticks", interval=0.05)
        holder, waiter = sorted(logs, key=lambda b: "Acquired lock" not in logs[b].read_text())
        _stop(waiter)  # first, so that it never takes the lock over
        poll_until(lambda: ticked(seen, [holder]), 10, "a tick", interval=0.02)  # between ticks
        _stop(holder)
    finally:
        for process in logs:
            _stop(process)
    count = beat.record(redis, settings, SOURCE)["total_run_count"]
    assert count >= 3
    assert queue_depth(app, SOURCES_QUEUE) == count  # one message per tick, none twice
    held, waited = logs[holder].read_text(), logs[waiter].read_text()
    assert held.count("Sending due task ticking (ingest.sources.sync)") == count
    assert "beat: Starting..." in waited  # it ran, waiting for the lock: it sent nothing
    assert "Acquired lock" not in waited and "Sending due task" not in waited
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(SOURCES_QUEUE)


def _start(env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "workers", "beat"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
