"""Which write wins: the registry's rules for versions, tombstones and unchanged documents."""

from ingest_tasks.state.registry import COMMITTED, DELETED, Entry


def test_a_newer_version_outranks_an_older_write_not_an_equal_one():
    held = Entry(version=20, state=COMMITTED, content_hash="h", chunks=3, size=100)
    assert held.outranks(19)
    assert not held.outranks(20)  # a redelivery of the same write may proceed
    assert not held.outranks(21)


def test_a_tombstone_outranks_writes_up_to_its_own_version():
    tomb = Entry(version=20, state=DELETED)
    assert tomb.outranks(19) and tomb.outranks(20)
    assert not tomb.outranks(21)  # the document was saved again after the delete


def test_held_means_committed_at_this_version_and_size():
    held = Entry(version=20, state=COMMITTED, content_hash="h", chunks=3, size=100)
    assert held.holds(20, 100)
    assert not held.holds(20, 101)
    assert not held.holds(21, 100)
    assert not Entry(version=20, state=DELETED).holds(20, 0)
