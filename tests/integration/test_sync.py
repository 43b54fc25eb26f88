"""`ingest sync` of a folder on the real stack: what changed is sent, what vanished is
removed, nothing else is read; a sync cut off is finished by the next; two never run at once."""

import json
import os
import random
import subprocess
import sys
import time

import pytest

from ingest_tasks.core.errors import SyncBusy
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.pipeline.parse import parse
from ingest_tasks.pipeline.sources import content_hash
from ingest_tasks.state import jobs
from ingest_tasks.sync import manifest, pending, runner, status
from ingest_tasks.sync.sources import resolve
from tests.integration.conftest import FAST, finished, index_of, live_collection
from tests.integration.schedules import SEED, Model, apply_to_folder, schedule


def tree_of(folder, doc_prefix: str = "") -> dict[str, str]:
    """doc id -> content hash of every document file of a folder, as the index should hold it."""
    return {doc_prefix + path.relative_to(folder).as_posix():
            content_hash(parse(path.read_bytes(), path.name).text)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix == ".md"}


@pytest.fixture
def folder(tmp_path, request):
    """A folder of 12 notes, 4 in a subfolder; their names (the doc ids) are the test's own."""
    root = tmp_path / "synced"
    (root / "sub").mkdir(parents=True)
    tag = request.node.name.split("_")[2]
    for n in range(12):
        (root / ("sub" if n % 3 == 0 else "") / f"note-{n}-{tag}.md").write_text(
            f"# Note {n}\n\nA field note on tide pool number {n}, first edition, {tag}.\n")
    return root


def test_a_sync_sends_what_changed_and_removes_what_vanished(client, folder):
    first = client.sync(str(folder))
    assert first.counts == {"new": 12, "changed": 0, "deleted": 0, "unchanged": 0}
    finished(client, first)
    ids = set(tree_of(folder))
    assert set(index_of(client, "")) >= ids

    (folder / "note-1-sync.md").write_text("# Note 1\n\nRewritten: a note on kelp, second edition.\n")
    (folder / "note-2-sync.md").unlink()
    (folder / "sub" / "note-3-sync.md").rename(folder / "note-3-moved.md")
    (folder / "sub" / "deeper").mkdir()
    (folder / "sub" / "deeper" / "new.md").write_text("# New\n\nA note on barnacles.\n")
    dry = client.sync(str(folder), dry_run=True)
    assert dry.counts == {"new": 2, "changed": 1, "deleted": 2, "unchanged": 9}
    assert sorted(path for path, _ in dry.plan.deletes) == ["note-2-sync.md", "sub/note-3-sync.md"]
    second = client.sync(str(folder))
    assert second.counts == dry.counts and second.job_id
    finished(client, second)
    held = index_of(client, "")
    assert {doc_id: held.get(doc_id) for doc_id in tree_of(folder)} == tree_of(folder)
    assert "note-2-sync.md" not in held and "sub/note-3-sync.md" not in held

    third = client.sync(str(folder))
    assert third.counts["unchanged"] == 12 and not third.job_id and not third.tasks


def test_a_sync_cut_off_after_its_plan_is_finished_by_the_next(client, folder, settings):
    source = resolve(settings, str(folder))
    app, redis = client.app, client.resources.redis
    plan = runner._plan(app, source, None)  # what a sync stores before it sends anything
    redis.set(runner._run_key(source), json.dumps({"job_id": "cutoff-" + folder.parent.name[-8:],
                                                   "hybrid": False, "model": None,
                                                   "trigger": "cli", "plan": plan.to_dict()}))
    report = client.sync(str(folder))
    assert report.resumed and report.counts["unchanged"] == 12  # the stored plan noted them
    client.wait_job("cutoff-" + folder.parent.name[-8:], timeout=120)
    assert set(manifest.load(redis, source.name)) == set(tree_of(folder))
    assert set(tree_of(folder)) <= set(index_of(client, ""))


def test_a_second_sync_of_a_source_refuses_clearly_while_one_runs(client, folder, settings):
    source = resolve(settings, str(folder))
    with runner._lock(client.app, source, 0):
        with pytest.raises(SyncBusy, match=f"a sync of {source.name} is running \\(pid "):
            client.sync(str(folder), wait=0.2)
        run = subprocess.run([sys.executable, "-m", "ingest_tasks.interfaces.cli", "sync",
                              str(folder)], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1 and "is running (pid" in run.stderr
    assert client.sync(str(folder), dry_run=True).counts["new"] == 12  # it sent nothing
    assert status.last(client.resources.redis, source.name) is None


def test_delete_by_prefix_removes_those_documents_only(client, tmp_path):
    folder = tmp_path / "prefixed"
    (folder / "keep").mkdir(parents=True)
    (folder / "drop").mkdir()
    for part in ("keep", "drop"):
        for n in range(3):
            (folder / part / f"{n}.md").write_text(f"# {part} {n}\n\nA note to {part}, {n}.\n")
    report = client.sync(str(folder))
    finished(client, report)
    run = subprocess.run([sys.executable, "-m", "ingest_tasks.interfaces.cli", "delete",
                          "--prefix", "drop/", "--json"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"prefix": "drop/", "deleted": 3}
    held = index_of(client, "")
    assert not any(doc_id.startswith("drop/") for doc_id in held)
    assert {f"keep/{n}.md" for n in range(3)} <= set(held)


def test_documents_failed_for_a_passing_reason_are_sent_again_by_the_next_sync(
        client, folder, settings):
    source, redis = resolve(settings, str(folder)), client.resources.redis
    finished(client, client.sync(str(folder)))
    edited, bad = folder / "note-1-failed.md", folder / "note-2-failed.md"
    edited.write_text("# Note 1\n\nA second edition, about limpets.\n")
    bad.write_bytes(b"\xff\xfe\x00broken")  # fails for its content: not sent again
    # as a sync leaves it whose job's worker gave up on both (the store down past every retry
    # for one, a bad file for the other): sent and noted, failed, not in the index
    plan = runner._plan(client.app, source, None)
    manifest.record(redis, source.name, plan.sent())
    job = "failed-" + folder.parent.name[-8:]
    jobs.create(redis, job, 2, 1, 1, 600, [])
    jobs.record(redis, job, 1, 0, [
        ProcessingResult.failure(source.doc_id(edited.name), str(edited),
                                 "store-unavailable: the Chroma server did not answer"),
        ProcessingResult.failure(source.doc_id(bad.name), str(bad),
                                 "encoding: not text")], 0.0)
    jobs.finish(redis, job, 1, time.time(), 600)
    pending.remember(client.app, source.name, job, [])
    report = client.sync(str(folder))
    assert report.counts == {"new": 0, "changed": 1, "deleted": 0, "unchanged": 11}
    finished(client, report)
    assert index_of(client, edited.name)[edited.name] == content_hash(
        parse(edited.read_bytes(), edited.name).text)


# --- acceptance: a seeded random schedule, followed by a watcher killed once, then a sync ---

def watcher(source: str, env: dict, log) -> subprocess.Popen:
    """`ingest watch` of a configured source, in a process of its own, its log to `log`."""
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "ingest_tasks.interfaces.cli", "watch",
                                 source], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=out)


def watched(client, name: str, process: subprocess.Popen, log) -> None:
    """Wait until the watcher holds its lease (it has started), failing if it exited."""
    def holds() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the watcher exited: {log.read_text()}")
        return status.watcher(client.resources.redis, name) is not None
    poll_until(holds, 60, "the watcher did not start", interval=0.05)


def test_a_watched_folder_ends_as_the_tree_after_a_random_schedule_and_a_watcher_kill(
        client, settings, tmp_path):
    root = tmp_path / "watched"
    root.mkdir()
    sources = json.dumps({"acceptance": {"uri": str(root), "prefix": "acc/"}})
    env = {**os.environ, "INGEST_SOURCES": sources, "INGEST_WATCH_DEBOUNCE": "0.2"}
    client = IngestClient(settings.model_copy(update={"sources": sources}))
    rng, model, ops = random.Random(SEED), Model(), list(schedule(SEED))
    kill_at, restart_at = len(ops) - 100, len(ops) - 60
    with live_collection(client, settings, FAST):
        log = tmp_path / "watch.log"
        process = watcher("acceptance", env, log)
        watched(client, "acceptance", process, log)
        try:
            for number, op in enumerate(ops):
                apply_to_folder(root, op)
                model.apply(op)
                if number == kill_at:
                    process.kill()  # SIGKILL: mid-flush, perhaps; what changes now, it misses
                    process.wait()
                elif number == restart_at:
                    process = watcher("acceptance", env, log)
                    watched(client, "acceptance", process, log)
                if number >= len(ops) - 150 and number % 10 == 0:
                    time.sleep(rng.uniform(0, 0.3))  # the schedule's pace: changes come in bursts
            finished(client, client.sync("acceptance", wait=60))
            expected = model.expected("acc/")
            poll_until(lambda: index_of(client, "acc/") == expected, 180,
                       "the index did not come to equal the tree", interval=0.5)
            # both watchers synced at start (the second perhaps after the final sync), and
            # the watching followed changes between
            poll_until(lambda: log.read_text().count("trigger=watch-start") == 2, 60,
                       "the restarted watcher did not sync at its start")
            assert "trigger=watch " in log.read_text()
        finally:
            process.terminate()
            process.wait(timeout=30)
