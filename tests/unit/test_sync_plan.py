"""Planning a sync without reading a document: folder listing, the manifest's versions,
vanished documents within the scope, and configured sources."""

import os

import pytest

from ingest_tasks.core.errors import SourceError
from ingest_tasks.core.settings import Settings
from ingest_tasks.sync.entry import Entry
from ingest_tasks.sync.folder import list_entries
from ingest_tasks.sync.manifest import Sent
from ingest_tasks.sync.plan import Plan, make_plan, scope
from ingest_tasks.sync.sources import Source, configured, normalized_uri


def clock(start: int = 10_000):
    """A stand-in for the submit-time clock: versions from `start` on."""
    def versions(count: int) -> range:
        return range(start, start + count)
    return versions


def entry(path: str, stamp: str = "s1", modified: int = 100, size: int = 5) -> Entry:
    return Entry(path, f"/src/{path}", stamp, modified, size)


def test_new_changed_unchanged_and_vanished_documents():
    manifest = {"same.md": Sent("s1", 100), "edited.md": Sent("old", 90),
                "gone.md": Sent("s1", 80), "gone-before.md": Sent("", 70)}
    plan = make_plan([entry("same.md"), entry("edited.md", "new", 95), entry("fresh.md")],
                     manifest, clock())
    assert plan.counts() == {"new": 1, "changed": 1, "deleted": 1, "unchanged": 1}
    assert [(e.relative, v) for e, v in plan.upserts] == [("edited.md", 95), ("fresh.md", 100)]
    assert plan.deletes == [("gone.md", 10_000)]  # a tombstone already sent is not sent again


def test_a_document_sent_again_outranks_what_was_sent_before():
    # a rename onto a deleted name keeps the old file's modification time, older than the tombstone
    manifest = {"back.md": Sent("", 5_000), "edited.md": Sent("a", 7_000)}
    plan = make_plan([entry("back.md", "b", 100), entry("edited.md", "c", 6_000)], manifest, clock())
    assert dict((e.relative, v) for e, v in plan.upserts) == {"back.md": 5_001, "edited.md": 7_001}
    tomb = make_plan([], {"x.md": Sent("a", 20_000)}, clock(10_000))
    assert tomb.deletes == [("x.md", 20_001)]


def test_a_scoped_plan_tombstones_only_within_its_paths():
    manifest = {"a/1.md": Sent("s", 1), "a/b/2.md": Sent("s", 1), "ab.md": Sent("s", 1),
                "c.md": Sent("s", 1)}
    plan = make_plan([], manifest, clock(), under=["a", "c.md"])
    assert [path for path, _ in plan.deletes] == ["a/1.md", "a/b/2.md", "c.md"]
    assert scope(["a"])("ab.md") is False and scope(None)("x") is True


def test_a_plan_survives_its_checkpoint_form():
    plan = make_plan([entry("n.md")], {"v.md": Sent("s", 3)}, clock())
    again = Plan.from_dict(plan.to_dict())
    assert (again.upserts, again.deletes, again.counts()) == (plan.upserts, plan.deletes,
                                                              plan.counts())
    assert again.sent() == [("n.md", Sent("s1", 100)), ("v.md", Sent("", 10_000))]


def test_a_folder_listing_reads_stat_only_and_leaves_out_hidden_and_other_kinds(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("a.md", "sub/b.txt", "sub/.b.txt.swp", ".git/c.md", "d.png", "sub/4913"):
        (tmp_path / name).write_text("text")
    (tmp_path / "sub" / "b.txt").chmod(0)  # unreadable: a listing must not open it
    (tmp_path / "link.md").symlink_to(tmp_path / "a.md")
    source = Source(str(tmp_path), str(tmp_path))
    listed = list(list_entries(source))
    assert [e.relative for e in listed] == ["a.md", "sub/b.txt"]
    info = os.stat(tmp_path / "a.md")
    assert listed[0].stamp == f"{info.st_mtime_ns}:{info.st_size}:{info.st_ino}"
    assert listed[0].location == str(tmp_path / "a.md")
    assert [e.relative for e in list_entries(source, ["sub", "gone.md", "a.md"])] == \
        ["a.md", "sub/b.txt"]


def test_a_folder_gone_fails_the_listing_rather_than_deleting_everything(tmp_path):
    source = Source("docs", str(tmp_path / "unmounted"))
    with pytest.raises(SourceError, match="is not a folder \\(gone, or not mounted\\?\\)"):
        list(list_entries(source))


def test_an_editor_save_by_rename_changes_the_stamp(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("one")
    source = Source(str(tmp_path), str(tmp_path))
    before = next(list_entries(source)).stamp
    temp = tmp_path / ".a.md.tmp"
    temp.write_text("two")
    os.utime(temp, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns))  # same time, size
    temp.replace(path)
    assert next(list_entries(source)).stamp != before


def test_configured_sources_and_their_errors(tmp_path):
    settings = Settings(sources='{"docs": {"uri": "%s", "prefix": "docs/", "schedule": "0 2 * * *"},'
                                ' "bucket": {"uri": "s3://b/p/"}}' % tmp_path)
    found = configured(settings)
    assert found["docs"] == Source("docs", str(tmp_path), "docs/", "0 2 * * *")
    assert found["bucket"].uri == "s3://b/p" and found["bucket"].is_s3
    assert found["docs"].doc_id("x.md") == "docs/x.md"
    for bad, says in (("[1]", "JSON object"), ('{"x": {}}', "needs a \"uri\""),
                      ('{"x": {"uri": "/d", "cron": 1}}', "unknown keys"), ("{", "not JSON")):
        with pytest.raises(ValueError, match=says):
            configured(Settings(sources=bad))
    with pytest.raises(SourceError, match="s3://bucket"):
        normalized_uri("s3:///key")
