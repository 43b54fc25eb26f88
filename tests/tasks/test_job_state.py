"""Job state in the real Redis: runs, redelivered groups, stale runs."""

import uuid

import pytest
import redis as redis_lib

from ingest_tasks.core.keys import JOB_KEY
from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.core.settings import get_settings
from ingest_tasks.state import jobs


@pytest.fixture
def redis():
    return redis_lib.Redis.from_url(get_settings().redis_url, decode_responses=True)


def results(*statuses):
    return [ProcessingResult(f"d{i}", f"/d{i}", status, chunks=2) for i, status in enumerate(statuses)]


def test_a_redelivered_group_is_counted_once(redis):
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=3, groups=1, chords=1, ttl=600, sources=["/x"])
    assert jobs.record(redis, job, run, 0, results("committed", "failed", "unchanged"))
    assert not jobs.record(redis, job, run, 0, results("committed", "failed", "unchanged"))
    state = jobs.progress(redis, job)
    assert (state["done"], state["committed"], state["failed"], state["chunks"]) == (3, 1, 1, 6)
    summary = jobs.finish(redis, job, run, started=state["created"], ttl=600)
    assert len(summary["documents"]) == 3 and summary["unchanged"] == 1


def test_a_stale_run_can_neither_count_nor_finish_the_new_one(redis):
    job = uuid.uuid4().hex
    old = jobs.create(redis, job, total=2, groups=1, chords=1, ttl=600, sources=["/x"])
    new = jobs.create(redis, job, total=2, groups=1, chords=1, ttl=600, sources=["/x"])
    assert new == old + 1
    assert not jobs.record(redis, job, old, 0, results("committed", "committed"))
    assert jobs.finish(redis, job, old, started=0.0, ttl=600) is None
    assert not jobs.fail(redis, job, old, "boom")
    state = jobs.progress(redis, job)
    assert (state["status"], state["done"], state["sources"]) == (jobs.RUNNING, 0, ["/x"])


def test_the_last_chord_to_end_finishes_the_job_and_a_redelivered_one_counts_once(redis):
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=4, groups=3, chords=3, ttl=600, sources=["/x"])
    assert not jobs.chord_done(redis, job, run, 0)
    assert not jobs.chord_done(redis, job, run, 0)  # redelivered
    assert not jobs.chord_done(redis, job, run - 1, 2)  # an older run's
    assert not jobs.chord_done(redis, job, run, 2)
    assert jobs.chord_done(redis, job, run, 1)


def test_recent_jobs_are_newest_first_and_expired_ones_drop_out(redis):
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    jobs.create(redis, old, total=1, groups=1, chords=1, ttl=600, sources=["/old"])
    jobs.create(redis, new, total=1, groups=1, chords=1, ttl=600, sources=["/new"])
    listed = [state["job_id"] for state in jobs.recent(redis, limit=1000)]
    assert listed.index(new) < listed.index(old)
    redis.delete(JOB_KEY + old)  # as its TTL would
    assert old not in [state["job_id"] for state in jobs.recent(redis, limit=1000)]


def test_a_document_failed_then_committed_by_a_later_attempt_counts_as_committed_once(redis):
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=2, groups=1, chords=1, ttl=600, sources=["/x"])
    assert jobs.record(redis, job, run, 0, results("failed", "failed"))
    assert not jobs.record(redis, job, run, 0, results("committed", "committed"))  # redelivered
    assert not jobs.record(redis, job, run, 0, results("failed", "unchanged"))  # a later copy
    state = jobs.progress(redis, job)
    assert (state["done"], state["committed"], state["failed"], state["chunks"]) == (2, 2, 0, 4)
    summary = jobs.finish(redis, job, run, started=state["created"], ttl=600)
    assert (summary["total"], summary["committed"], summary["failed"]) == (2, 2, 0)


def test_an_outcome_recorded_after_the_summary_builds_it_again(redis):
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=2, groups=1, chords=1, ttl=600, sources=["/x"])
    jobs.record(redis, job, run, 0, results("committed", "failed"))
    first = jobs.finish(redis, job, run, started=0.0, ttl=600)
    assert (first["committed"], first["failed"]) == (1, 1)
    jobs.record(redis, job, run, 0, results("committed", "committed"))  # a late copy
    again = jobs.summary(redis, job)
    assert (again["total"], again["committed"], again["failed"]) == (2, 2, 0)
    assert (again["started"], again["finished"]) == (first["started"], first["finished"])
    assert jobs.progress(redis, job)["committed"] == 2


def test_a_refused_id_with_a_lone_surrogate_is_recorded_like_any_other(redis):
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=2, groups=1, chords=1, ttl=600, sources=["/x"])
    refused = ProcessingResult.failure("lone-\ud800.md", "", "doc-id: not valid UTF-8")
    assert jobs.record(redis, job, run, 0, [refused, *results("committed")])
    summary = jobs.finish(redis, job, run, started=jobs.progress(redis, job)["created"], ttl=600)
    assert (summary["failed"], summary["committed"]) == (1, 1)
    assert {doc["doc_id"] for doc in summary["documents"]} == {"lone-\ud800.md", "d0"}


def test_the_last_group_to_record_ends_the_job_without_its_chords_callback(redis):
    # Redis's broker can lose a chord's callback: a worker killed between popping it and
    # noting it unacknowledged; the job still ends, and a late callback changes nothing
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=3, groups=2, chords=1, ttl=600, sources=["/x"])
    jobs.record(redis, job, run, 0, results("committed"))
    jobs.record(redis, job, run, "0/batch-a", [ProcessingResult("d1", "/d1", "failed")])  # no group
    assert jobs.progress(redis, job)["status"] == jobs.RUNNING
    jobs.record(redis, job, run, 1, [ProcessingResult("d2", "/d2", "committed", chunks=2)])
    summary = jobs.summary(redis, job)
    assert jobs.progress(redis, job)["status"] == jobs.FINISHED
    assert (summary["total"], summary["committed"], summary["failed"]) == (3, 2, 1)
    assert not jobs.chord_done(redis, job, run, 0)  # the callback, late: nothing to do
    assert redis.ttl(JOB_KEY + job + ":chords") == -2  # nor a key left without a TTL


def test_a_job_whose_groups_all_recorded_waits_for_its_embedding_batches(redis):
    job = uuid.uuid4().hex
    run = jobs.create(redis, job, total=2, groups=1, chords=1, ttl=600, sources=["/x"])
    jobs.await_batch(redis, job, run, "sub-0")
    jobs.record(redis, job, run, 0, results("committed"))  # its other document is batched
    assert jobs.chord_done(redis, job, run, 0) is False
    assert jobs.progress(redis, job)["status"] == jobs.RUNNING
    jobs.record(redis, job, run, "0/batch-a", [ProcessingResult("d1", "/d1", "committed", chunks=2)])
    jobs.batch_done(redis, job, run, "sub-0", ttl=600)
    assert jobs.summary(redis, job)["committed"] == 2
