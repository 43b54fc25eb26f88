"""Faults on the real stack, the fast one: a stream pool child killed while it runs a task.

The rest of the fault suite (the bulk worker's main process killed, Redis restarted, the
Chroma server stopped for 30 s, an embedding service answering bursts of 429 and 500)
takes minutes, each on a stack of its own: `scripts/faults.py`. The bulk kill and a
Chroma restart also run here, in test_batch_jobs.py.
"""

import os
import signal

from ingest_tasks.state import registry
from ingest_tasks.testing.stacks import busy_child

# A topic of its own: other tests of the shared stack search for theirs
WORDS = "Lighthouse keepers log the tides and trim the lamp wicks before each storm. "


def test_a_stream_child_killed_mid_task_loses_and_duplicates_nothing(client, stack):
    texts = {f"killed-child/{n}": f"# Keeper's log {n}\n\n" + WORDS * 400 for n in range(3)}
    results = [client.submit_content(doc_id, text, "note.md") for doc_id, text in texts.items()]
    pid, task_id = busy_child(stack, "stream")
    os.kill(pid, signal.SIGKILL)  # late acks: the pool requeues the task at once

    done = {r["doc_id"]: r for r in (result.get(timeout=120) for result in results)}
    name = client.resources.collection()
    for doc_id in texts:
        assert done[doc_id]["status"] in ("committed", "unchanged")
        entry = registry.get(client.resources.redis, name, doc_id)
        metas = [m for _, m in client.resources.store.chunks_of(name, [doc_id]).get(doc_id, [])]
        assert entry.chunks == len(metas) > 1  # as many chunks as committed, none twice
        assert {meta["version"] for meta in metas} == {entry.version}
    assert task_id in {result.id for result in results}


def test_a_stream_child_killed_holding_a_commit_lock_holds_up_no_writer(client, stack):
    """The killed holder's lock is taken over at once by the redelivered task: the document
    commits well before the lock's lease (INGEST_LOCK_LEASE_SECONDS) would have lapsed."""
    import time

    from ingest_tasks.core.polling import poll_until
    from ingest_tasks.state import locks

    redis, name = client.resources.redis, client.resources.collection()
    doc_id = "killed-holder/0"
    lock = f"ingest:lock:{name}:{doc_id}"
    result = client.submit_content(doc_id, "# Keeper's lamp\n\n" + WORDS * 600, "note.md",
                                   version=time.time_ns())
    poll_until(lambda: redis.exists(lock), 120, "the commit lock taken", interval=0.001)
    holder = locks.Owner.parse(redis.get(lock) or "")
    assert holder is not None, "the write ended before the kill"
    os.kill(holder.pid, signal.SIGKILL)  # the stream child, inside its store write
    killed = time.monotonic()
    lease = redis.pttl(lock) / 1000
    done = result.get(timeout=120)
    assert done["status"] == "committed"
    assert time.monotonic() - killed < 60  # the old commit lock's TTL; the lease is shorter
    assert redis.get(lock) is None
    entry = registry.get(redis, name, doc_id)
    metas = [meta for _, meta in client.resources.store.chunks_of(name, [doc_id]).get(doc_id, [])]
    assert entry.chunks == len(metas) > 1 and {m["version"] for m in metas} == {entry.version}
    assert lease > 0
