"""Write-behind: a bulk group's commits in a thread of their own, beside its parsing."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from ingest_tasks.pipeline.write_behind import WriteBehind


def doc(name: str, chunks: int = 1):
    return SimpleNamespace(name=name, chunks=[0] * chunks)


class Store:
    """Commits that record their batches, each held until the test lets it go."""

    def __init__(self, fail_on: str | None = None):
        self.batches: list[list[str]] = []
        self.entered = threading.Semaphore(0)
        self.go = threading.Semaphore(0)
        self.fail_on = fail_on

    def commit(self, docs):
        self.batches.append([d.name for d in docs])
        self.entered.release()
        assert self.go.acquire(timeout=10)
        if self.fail_on in [d.name for d in docs]:
            raise RuntimeError(f"store refused {self.fail_on}")
        return [d.name for d in docs]


def test_a_commit_takes_every_document_handed_over_while_the_last_one_ran():
    store = Store()
    with WriteBehind(store.commit) as behind:
        behind.add(doc("a"))
        assert store.entered.acquire(timeout=10)  # the first commit started with "a" alone
        for name in "bcd":
            behind.add(doc(name))
        store.go.release()
        assert store.entered.acquire(timeout=10)
        store.go.release()
        assert sorted(behind.finish()) == ["a", "b", "c", "d"]
    assert store.batches == [["a"], ["b", "c", "d"]]


def test_after_the_first_a_commit_waits_for_may_write_and_gathers_meanwhile():
    store, free = Store(), threading.Event()
    for _ in range(3):
        store.go.release()
    with WriteBehind(store.commit, may_write=free.is_set) as behind:
        behind.add(doc("a"))  # the first goes at once
        assert store.entered.acquire(timeout=10)
        behind.add(doc("b"))
        behind.add(doc("c"))
        assert not store.entered.acquire(timeout=0.2)  # another writer holds the store
        free.set()
        assert store.entered.acquire(timeout=10)
        free.clear()
        behind.add(doc("d"))  # the last: goes at finish, free or not
        assert behind.finish() == ["a", "b", "c", "d"]
    assert store.batches == [["a"], ["b", "c"], ["d"]]


def test_a_failed_commit_is_raised_to_the_caller_and_nothing_after_it_is_committed():
    store = Store(fail_on="a")
    with pytest.raises(RuntimeError, match="store refused a"):
        with WriteBehind(store.commit) as behind:
            behind.add(doc("a"))
            assert store.entered.acquire(timeout=10)
            store.go.release()
            behind._thread.join(timeout=10)
            behind.add(doc("b"))
    assert store.batches == [["a"]]


def test_an_error_asking_may_write_is_raised_to_the_caller_too():
    def redis_away() -> bool:
        raise ConnectionError("Redis did not answer")

    store = Store()
    store.go.release()
    with WriteBehind(store.commit, may_write=redis_away) as behind:
        behind.add(doc("a"))  # the first goes at once, without asking
        assert store.entered.acquire(timeout=10)
        behind.add(doc("b"))  # the next asks, and the question fails
        behind._thread.join(timeout=10)
        with pytest.raises(ConnectionError, match="Redis did not answer"):
            behind.finish()
    assert store.batches == [["a"]]


def test_an_error_of_the_caller_waits_for_the_commit_under_way_and_drops_the_rest():
    store = Store()
    with pytest.raises(KeyError):
        with WriteBehind(store.commit) as behind:
            behind.add(doc("a"))
            assert store.entered.acquire(timeout=10)
            behind.add(doc("b"))
            store.go.release()  # "a" ends; "b" is never taken
            raise KeyError("the caller's soft time limit")
    assert store.batches == [["a"]]
    assert not behind._thread.is_alive()


def test_the_thread_runs_in_the_callers_context():
    import contextvars

    budget = contextvars.ContextVar("budget", default=0)
    budget.set(42)
    seen = []
    with WriteBehind(lambda docs: seen.append(budget.get()) or []) as behind:
        behind.add(doc("a"))
        behind.finish()
    assert seen == [42]
