"""Batch jobs on the real stack: re-runs, resume after a cut-off job, a worker killed mid-job."""

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
import pytest
import redis as redis_lib

from ingest_tasks.core.keys import BULK_QUEUE, WRITER_KEY
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import get_settings
from ingest_tasks.lanes.backpressure import queue_depth
from ingest_tasks.state import jobs
from ingest_tasks.testing.stacks import free_port
from tests.integration.conftest import chunks_in_store
from tests.servers import serving

BROKER_IS_REDIS = get_settings().broker.startswith(("redis://", "rediss://"))
TOPICS = ["glaciers", "lighthouses", "beekeeping", "typefaces", "tidepools", "sourdough",
          "orreries", "kelp forests"]


@pytest.fixture
def client(settings, stack):
    """A client that sends groups of 16 documents, so that these small jobs have several."""
    from ingest_tasks.interfaces.client import IngestClient

    return IngestClient(settings.model_copy(update={"group_max_docs": 16}))


def write_docs(folder, count: int):
    """`count` small Markdown documents of one chunk each, named (ids included) for the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        topic = TOPICS[n % len(TOPICS)]
        (folder / f"{folder.name}-{n:04d}.md").write_text(
            f"# Note {n} on {topic}\n\nField note number {n} about {topic}: "
            f"observed on day {n * 7 % 31}, filed under {topic} in {folder.name}.\n")
    return folder


def assert_exactly_once(client, folder, summary, model=None):
    """Every document of the folder is in the store once, with the chunks reported."""
    stored = chunks_in_store(client, str(folder.resolve()), model)
    reported = {d["doc_id"]: d["chunks"] for d in summary["documents"]}
    assert len(summary["documents"]) == summary["total"] == len(reported)
    assert stored == reported


def assert_summary_is_the_store(client, folder, summary, total: int):
    """Every document committed once, none failed (for time or else), and the summary says so."""
    assert (summary["committed"] + summary["unchanged"], summary["total"]) == (total, total)
    assert (summary["failed"], summary["failures_by_reason"]) == (0, {})
    assert_exactly_once(client, folder, summary)


def test_a_rerun_skips_what_is_committed_and_redoes_what_changed(client, tmp_path):
    folder = write_docs(tmp_path / "rerun", 40)
    first = client.wait_job(client.submit_batch([folder]), timeout=600)["summary"]
    assert first["committed"] == 40
    phases = first["phases"]  # from the workers' timelines: 3 groups of 16 documents or fewer
    assert phases["groups"] == 3 and phases["work_s"]["parse"] > 0
    assert first["started"] <= first["started"] + phases["submit_s"] <= first["finished"]
    assert 0 < phases["store_busy"] <= 1
    assert phases["submit_s"] + phases["first_write_s"] + phases["steady_s"] + phases["tail_s"] \
        == pytest.approx(first["wall_seconds"], abs=0.01)

    (folder / "rerun-0003.md").write_text("# Rewritten\n\nThis note about comets is new text.\n")
    again = client.wait_job(client.submit_batch([folder], job_id=first["job_id"]),
                            timeout=600)["summary"]
    assert (again["committed"], again["unchanged"], again["total"]) == (1, 39, 40)
    assert [d["doc_id"] for d in again["documents"] if d["status"] == "committed"] == ["rerun-0003.md"]
    assert_exactly_once(client, folder, again)


def test_a_producer_keeps_no_subscription_for_results_it_never_reads(client, settings, tmp_path):
    """A job's chords are followed through the job's state, never their results; a stream
    result is subscribed to while its get() waits. A long-running producer (the HTTP API)
    would otherwise keep a result subscription per task it ever sent."""
    backend = redis_lib.Redis.from_url(settings.backend)

    def subscribed() -> set:
        return set(backend.pubsub_channels("celery-task-meta-*"))

    before = subscribed()
    folder = write_docs(tmp_path / "unread", 40)
    assert client.wait_job(client.submit_batch([folder]), timeout=600)["summary"]["committed"] == 40
    assert subscribed() == before
    handle = client.submit(write_docs(tmp_path / "read", 1) / "read-0000.md")
    assert [result["status"] for result in handle.wait(timeout=120)] == ["committed"]
    assert subscribed() == before


@pytest.mark.skipif(not BROKER_IS_REDIS, reason="cuts the queue's list in Redis, as a dead submitter would")
def test_resume_finishes_a_job_whose_submitter_died_mid_send(client, stack, settings, tmp_path):
    folder = write_docs(tmp_path / "cut", 96)  # 6 groups of 16
    stack.down(["bulk"], report=lambda line: None)
    try:
        job_id = client.submit_batch([folder])
        broker = redis_lib.Redis.from_url(settings.broker)
        assert broker.llen(BULK_QUEUE) == 6
        broker.ltrim(BULK_QUEUE, 4, -1)  # keep the first two sent (the list's tail): the rest
        # never left the submitter
    finally:
        stack.up(["bulk"], report=lambda line: None)
    poll_until(lambda: client.job_status(job_id)["done"] == 32, 300, "the two groups sent")
    assert client.job_status(job_id)["status"] == jobs.RUNNING  # the chord can never complete

    summary = client.wait_job(client.resume(job_id), timeout=600)["summary"]
    assert (summary["unchanged"], summary["committed"], summary["total"]) == (32, 64, 96)
    assert_exactly_once(client, folder, summary)


def test_submit_batch_waits_at_the_high_water_mark_and_resumes_below_the_low(
        settings, stack, tmp_path):
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient(settings.model_copy(update={
        "group_max_docs": 4, "bulk_queue_high_water": 6, "bulk_queue_low_water": 2}))
    folder = write_docs(tmp_path / "pressure", 60)  # 15 groups, sent in chords of 6 - 2 = 4
    seen = []
    stack.down(["bulk"], report=lambda line: None)
    with ThreadPoolExecutor(1) as pool:
        try:
            sending = pool.submit(client.submit_batch, [folder], on_progress=seen.append)
            poll_until(lambda: seen and seen[-1]["waiting"], 60, "the submitter waiting")
            assert not sending.done()
            assert queue_depth(client.app) == 4  # one chord sent, the next waits for room
            assert (seen[-1]["sent"], seen[-1]["queue_depth"]) == (4, 4)
        finally:
            stack.up(["bulk"], report=lambda line: None)
        job_id = sending.result(timeout=300)  # resumed once the pool drained the queue
    assert max(state["queue_depth"] for state in seen) <= 6
    assert client.job_status(job_id)["sent"] == 15
    summary = client.wait_job(job_id, timeout=600)["summary"]
    assert (summary["committed"], summary["total"]) == (60, 60)
    assert_exactly_once(client, folder, summary)


def test_a_job_through_a_rate_limited_embedding_service_loses_nothing(
        settings, stack, tmp_path):
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient(settings.model_copy(update={"group_max_docs": 4}))
    folder = write_docs(tmp_path / "service", 48)  # 12 groups, each one request
    port = urlparse(settings.embedding_api_url).port
    with serving(tmp_path, "--rate", "2", port=port) as url:  # the pools' service
        job_id = client.submit_batch([folder], model="api:all-MiniLM-L6-v2")
        summary = client.wait_job(job_id, timeout=600)["summary"]
        health = httpx.get(f"{url}/health").json()
    assert health["throttled"] > 0  # 429s were sent, and retried
    assert (summary["committed"], summary["failed"]) == (48, 0)
    assert_exactly_once(client, folder, summary, model="api:all-MiniLM-L6-v2")


@contextmanager
def exporter(tmp_path):
    """`ingest metrics` in a process of its own; yields a function that scrapes it."""
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    with open(tmp_path / "metrics.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ingest_tasks.interfaces.cli", "metrics", "--port",
                                 str(port)], stdout=log, stderr=subprocess.STDOUT)

    def scrape() -> dict:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(text) for sample in family.samples}

    try:
        poll_until(lambda: _answers(scrape), 60, "the metrics exporter")
        yield scrape
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answers(scrape) -> bool:
    try:
        return bool(scrape())
    except httpx.TransportError:
        return False


def test_metrics_scraped_during_a_job_show_depth_age_and_latency(settings, stack, tmp_path):
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient(settings.model_copy(update={"group_max_docs": 4}))
    folder = write_docs(tmp_path / "metered", 16)  # 4 groups
    model = settings.embedding_model
    committed = ("ingest_documents_total", (("lane", "bulk"), ("model", model), ("status", "committed")))
    latencies = ("ingest_latency_seconds_count", (("lane", "bulk"),))
    with exporter(tmp_path) as scrape:
        before = scrape()
        stack.down(["bulk"], report=lambda line: None)
        try:
            job_id = client.submit_batch([folder])
            during = scrape()
        finally:
            stack.up(["bulk"], report=lambda line: None)
        client.wait_job(job_id, timeout=600)
        after = scrape()
    assert during[("ingest_queue_depth", (("queue", "bulk"),))] == 4
    if BROKER_IS_REDIS:  # ages are read off the Redis lists
        assert during[("ingest_queue_oldest_age_seconds", (("queue", "bulk"),))] > 0
    assert during[("ingest_job_documents", (("job", job_id), ("state", "total")))] == 16
    assert after[committed] - before.get(committed, 0) == 16
    assert after[latencies] - before.get(latencies, 0) == 16
    assert after[("ingest_latency_seconds_bucket", (("lane", "bulk"), ("le", "+Inf")))] >= 16


@pytest.fixture
def fast_redelivery_bulk_pool(stack):
    """The bulk pool restarted with a short visibility timeout; the usual one afterwards."""
    quick = {"INGEST_VISIBILITY_TIMEOUT": "10", "INGEST_TASK_TIME_LIMIT": "8",
             "INGEST_TASK_SOFT_TIME_LIMIT": "6", "INGEST_UNACKED_RESTORE_INTERVAL": "1",
             "INGEST_UNACKED_RESTORE_THROTTLE": "1", "INGEST_BULK_PREFETCH": "1",
             "INGEST_DOCUMENT_TIME_LIMIT": "5",  # below the soft limit, as settings require
             "INGEST_LOCK_LEASE_SECONDS": "2"}  # below 0.75 x the soft limit, as they require
    quiet = {"report": lambda line: None}
    stack.down(["bulk"], **quiet)
    stack.up(["bulk"], env=quick, **quiet)
    yield lambda: stack.up(["bulk"], env=quick, **quiet)
    stack.down(["bulk"], **quiet)
    stack.up(["bulk"], **quiet)


def test_a_worker_killed_mid_job_loses_and_duplicates_nothing(
        client, stack, fast_redelivery_bulk_pool, tmp_path):
    folder = write_docs(tmp_path / "killed", 160)  # 10 groups
    job_id = client.submit_batch([folder])
    poll_until(lambda: client.job_status(job_id)["done"] >= 16, 300, "a first group")
    os.killpg(stack.pid("bulk"), signal.SIGKILL)  # main process and pool children at once
    poll_until(lambda: stack.pid("bulk") is None, 30, "the killed pool gone")
    assert client.job_status(job_id)["done"] < 160
    fast_redelivery_bulk_pool()  # a new worker finds the unacknowledged tasks and reruns them

    summary = client.wait_job(job_id, timeout=600)["summary"]
    assert summary["committed"] + summary["unchanged"] == summary["total"] == 160
    assert summary["failed"] == 0
    assert_exactly_once(client, folder, summary)


def test_a_chroma_restart_mid_job_is_retried_through(client, stack, tmp_path):
    folder = write_docs(tmp_path / "restart", 160)
    job_id = client.submit_batch([folder])
    poll_until(lambda: client.job_status(job_id)["done"] >= 16, 300, "a first group")
    stack.down(["chroma"], report=lambda line: None)  # writes now fail: the tasks retry
    stack.up(["chroma"], report=lambda line: None)

    summary = client.wait_job(job_id, timeout=600)["summary"]
    assert summary["committed"] + summary["unchanged"] == summary["total"] == 160
    assert_exactly_once(client, folder, summary)


# Issue 21's operator settings: the bulk pool's tasks must end well within 30 s
ISSUE_21 = {"INGEST_VISIBILITY_TIMEOUT": "30", "INGEST_TASK_TIME_LIMIT": "25",
            "INGEST_TASK_SOFT_TIME_LIMIT": "20", "INGEST_DOCUMENT_TIME_LIMIT": "15",
            "INGEST_UNACKED_RESTORE_INTERVAL": "1", "INGEST_UNACKED_RESTORE_THROTTLE": "1"}


@pytest.fixture
def issue_21_bulk_pool(stack):
    """The bulk pool on issue 21's settings; a function that starts it again; the usual after."""
    quiet = {"report": lambda line: None}
    stack.down(["bulk"], **quiet)
    stack.up(["bulk"], env=ISSUE_21, **quiet)
    yield lambda: stack.up(["bulk"], env=ISSUE_21, **quiet)
    stack.down(["bulk"], **quiet)
    stack.up(["bulk"], **quiet)


def kill_inside_a_store_write(stack, redis, slot: str) -> str:
    """SIGKILL the bulk pool (main process and children) while a group holds the writer's
    turn, that is inside a store write; the holder's owner tag."""
    poll_until(lambda: redis.exists(slot), 300, "a bulk store write", interval=0.001)
    os.killpg(stack.pid("bulk"), signal.SIGKILL)
    return redis.get(slot) or ""


def test_a_pool_killed_inside_a_store_write_loses_nothing_and_its_summary_is_the_store(
        settings, stack, issue_21_bulk_pool, tmp_path):
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient(settings.model_copy(update={"group_max_docs": 8}))
    redis = client.resources.redis
    folder = write_docs(tmp_path / "in-write", 300)  # 38 groups
    job_id = client.submit_batch([folder])
    poll_until(lambda: client.job_status(job_id)["done"] >= 16, 300, "two groups")
    slot = f"{WRITER_KEY}{client.resources.collection()}:0"
    holder = kill_inside_a_store_write(stack, redis, slot)
    assert holder, "the kill came after the write"
    killed, done = time.monotonic(), client.job_status(job_id)["done"]
    issue_21_bulk_pool()  # at once: the killed main process is not taken for a running one
    assert time.monotonic() - killed < 90
    assert redis.get(slot) != holder  # the dead owner's turn was given back at the start
    poll_until(lambda: client.job_status(job_id)["done"] > done, 60, "a group after the restart")

    summary = client.wait_job(job_id, timeout=600)["summary"]
    assert_summary_is_the_store(client, folder, summary, 300)


def test_random_kills_of_the_bulk_pool_each_end_exactly_once(
        settings, stack, fast_redelivery_bulk_pool, tmp_path):
    """Three kills at random moments of three jobs (the fault suite's random_kills does ten)."""
    from ingest_tasks.interfaces.client import IngestClient

    seed = int(os.environ.get("INGEST_TEST_SEED", random.randrange(1 << 30)))
    print(f"random kills: seed {seed} (INGEST_TEST_SEED={seed} repeats them)")
    chance = random.Random(seed)
    client = IngestClient(settings.model_copy(update={"group_max_docs": 8}))
    for round_ in range(3):
        folder = write_docs(tmp_path / f"random-{round_}", 64)  # 8 groups
        job_id = client.submit_batch([folder])
        done, later = chance.randrange(0, 57), chance.uniform(0.0, 0.5)  # the random moment
        poll_until(lambda: client.job_status(job_id)["done"] >= done, 300, f"{done} done", 0.01)
        time.sleep(later)  # not a wait for anything: part of the random moment
        os.killpg(stack.pid("bulk"), signal.SIGKILL)
        fast_redelivery_bulk_pool()
        summary = client.wait_job(job_id, timeout=300)["summary"]
        assert_summary_is_the_store(client, folder, summary, 64), f"seed {seed}, round {round_}"
