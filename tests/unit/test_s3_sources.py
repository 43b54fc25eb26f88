"""S3 sources on moto's S3 server: objects read under S3 roots within their limits, and
prefixes listed from ListObjectsV2 alone, no object's body read."""

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from ingest_tasks.core.errors import (
    SourceError,
    SourceOutsideRoots,
    SourceUnavailable,
    TooLarge,
    TransientError,
)
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline import s3
from ingest_tasks.pipeline.roots import remember
from ingest_tasks.pipeline.sources import DocRef, read_source
from ingest_tasks.sync import s3 as listing
from ingest_tasks.sync.sources import Source
from ingest_tasks.testing.stacks import free_port
from tests.servers import put_bucket

NOTE = b"# Harbour cranes\n\nThe cranes lift containers at high tide.\n"
DOCUMENTS = ["a.md", "page.html", "sub/b.txt", "sub2/c.md"]  # of docs/, in key order


@pytest.fixture(scope="module")
def bucket(s3_server) -> str:
    """A bucket with documents under docs/, keys that are none, and objects beside docs/."""
    return put_bucket(s3.client(Settings()), {
        "docs/a.md": NOTE, "docs/page.html": f"<p>{'tide ' * 40}</p>", "docs/sub/b.txt": "b",
        "docs/sub2/c.md": "c", "docs/.drafts/d.md": "hidden", "docs/e.jpg": "unsupported",
        "docs/folder/": "", "docs/./f.md": "a dot part", "docs-old/g.md": "beside docs/",
        "top.md": "at the bucket's root",
    })


def rooted(tmp_path: Path, *roots: str, **values) -> Settings:
    """Settings whose source roots are `roots` alone (none remembered)."""
    return Settings(source_roots=os.pathsep.join(roots), state_dir=tmp_path, **values)


@contextmanager
def calls(client) -> Iterator[Counter]:
    """The S3 operations the client calls in the block, counted by name."""
    counted: Counter = Counter()

    def count(model, **_) -> None:
        counted[model.name] += 1

    client.meta.events.register("before-call.s3", count)
    try:
        yield counted
    finally:
        client.meta.events.unregister("before-call.s3", count)


def test_an_object_under_a_root_is_read_as_a_file_is(bucket, tmp_path):
    settings = rooted(tmp_path, f"s3://{bucket}/docs")
    uri = f"s3://{bucket}/docs/a.md"
    assert s3.read_object(uri, 1000, "INGEST_MAX_DOCUMENT_BYTES", settings) == NOTE
    assert read_source(DocRef("a.md", uri), settings) == NOTE


def test_an_object_past_its_limit_is_refused_unread(bucket, tmp_path):
    settings = rooted(tmp_path, f"s3://{bucket}", max_html_bytes=100)
    uri = f"s3://{bucket}/docs/a.md"
    with calls(s3.client(settings)) as counted, pytest.raises(TooLarge) as refused:
        s3.read_object(uri, 10, "INGEST_MAX_DOCUMENT_BYTES", settings)
    assert str(refused.value) == (f"{uri} is {len(NOTE)} bytes, over the limit of 10 "
                                  "(INGEST_MAX_DOCUMENT_BYTES)")
    assert counted == {"GetObject": 1}
    with pytest.raises(TooLarge, match=r"over the limit of 100 \(INGEST_MAX_HTML_BYTES\)"):
        read_source(DocRef("page.html", f"s3://{bucket}/docs/page.html"), settings)


def test_a_missing_object_or_bucket_is_a_source_error(bucket, tmp_path):
    settings = rooted(tmp_path, f"s3://{bucket}", "s3://no-such-bucket")
    gone = f"s3://{bucket}/docs/gone.md"
    with pytest.raises(SourceError, match=f"cannot read {gone}: no such object"):
        s3.read_object(gone, 100, "X", settings)
    with pytest.raises(SourceError, match="no such bucket no-such-bucket"):
        s3.read_object("s3://no-such-bucket/a.md", 100, "X", settings)
    with pytest.raises(SourceError, match="no such bucket no-such-bucket"):
        list(listing.list_entries(Source("gone", "s3://no-such-bucket"), settings))


def test_objects_outside_the_roots_are_refused_saying_what_to_run(bucket, tmp_path):
    prefix = rooted(tmp_path, f"s3://{bucket}/docs/")
    assert prefix.s3_roots == [f"s3://{bucket}/docs"]
    assert s3.read_object(f"s3://{bucket}/docs/sub/b.txt", 100, "X", prefix) == b"b"
    for outside, folder in ((f"s3://{bucket}/docs-old/g.md", f"s3://{bucket}/docs-old"),
                            (f"s3://{bucket}/top.md", f"s3://{bucket}"),
                            ("s3://elsewhere/docs/a.md", "s3://elsewhere/docs")):
        with pytest.raises(SourceOutsideRoots) as refused:
            s3.read_object(outside, 100, "X", prefix)
        assert str(refused.value) == (
            f"{outside} is under none of the S3 source roots (s3://{bucket}/docs): run "
            f"`ingest up --source-root {folder}` (or add it to INGEST_SOURCE_ROOTS)")
    with pytest.raises(SourceOutsideRoots, match=r"an empty, `\.` or `\.\.` part"):
        s3.read_object(f"s3://{bucket}/docs/../top.md", 100, "X", prefix)
    with pytest.raises(SourceOutsideRoots, match=r"S3 source roots \(none\)"):
        s3.read_object(f"s3://{bucket}/docs/a.md", 100, "X", rooted(tmp_path, str(tmp_path)))
    whole = rooted(tmp_path, f"s3://{bucket}")
    assert s3.read_object(f"s3://{bucket}/top.md", 100, "X", whole) == b"at the bucket's root"


def test_s3_roots_come_from_the_environment_and_from_ingest_up(tmp_path):
    settings = rooted(tmp_path, "/srv/a", "s3://b1/pre/", "s3://b2")
    assert (settings.roots, settings.s3_roots) == ([Path("/srv/a")], ["s3://b1/pre", "s3://b2"])
    assert remember(tmp_path, ["s3://b3/x/", "s3://b3/x"]) == ["s3://b3/x"]  # no folder check
    assert remember(tmp_path, ["s3://b3/x"]) == []
    assert (settings.roots, settings.s3_roots) == ([Path("/srv/a")],
                                                   ["s3://b1/pre", "s3://b2", "s3://b3/x"])
    with pytest.raises(SourceError, match="s3://bucket or s3://bucket/key"):
        remember(tmp_path, ["s3:///x"])
    with pytest.raises(ValidationError, match="an S3 root is s3://bucket"):
        rooted(tmp_path, "s3://")


def test_s3_down_or_busy_is_transient_so_the_task_is_retried(tmp_path):
    assert issubclass(SourceUnavailable, TransientError)
    down = rooted(tmp_path, "s3://b", s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SourceUnavailable, match="S3 did not answer for s3://b/a.md"):
        s3.read_object("s3://b/a.md", 100, "X", down)
    slow_down = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                 "ResponseMetadata": {"HTTPStatusCode": 503}}
    busy = "busy or failing for s3://b/a.md: SlowDown"
    with pytest.raises(SourceUnavailable, match=busy), s3.translated("s3://b/a.md"):
        raise ClientError(slow_down, "GetObject")


def test_a_prefix_is_listed_page_by_page_without_reading_a_body(bucket, tmp_path):
    settings = rooted(tmp_path)
    client = s3.client(settings)
    with calls(client) as counted:
        entries = list(listing.list_entries(Source("docs", f"s3://{bucket}/docs"), settings,
                                            page_size=2))
    assert [entry.relative for entry in entries] == DOCUMENTS
    assert counted == {"ListObjectsV2": 4}  # the prefix's 8 keys, 2 a page: no GetObject
    head = client.head_object(Bucket=bucket, Key="docs/a.md")
    modified = int(head["LastModified"].timestamp()) * 10**9
    first, etag = entries[0], head["ETag"].strip('"')
    assert (first.location, first.size, first.modified) == (f"s3://{bucket}/docs/a.md",
                                                            len(NOTE), modified)
    assert first.stamp == f"{etag}:{modified}"


def test_under_lists_only_those_objects_and_folders(bucket, tmp_path):
    settings = rooted(tmp_path)
    docs, root = Source("docs", f"s3://{bucket}/docs"), Source("all", f"s3://{bucket}")

    def listed(source: Source, under: list[str]) -> list[str]:
        return [entry.relative for entry in listing.list_entries(source, settings, under)]

    assert listed(docs, ["sub"]) == ["sub/b.txt"]  # not sub2/
    assert listed(docs, ["sub2/", "a.md", "a.md", "nothing"]) == ["a.md", "sub2/c.md"]
    assert listed(docs, [".drafts", "e.jpg", "folder"]) == []
    assert listed(docs, [""]) == DOCUMENTS
    assert listed(root, ["top.md", "docs-old"]) == ["docs-old/g.md", "top.md"]


def test_an_upload_gives_an_object_a_new_stamp(s3_server, tmp_path):
    settings = rooted(tmp_path)
    client = s3.client(settings)
    name = put_bucket(client, {"n.md": "first text"})
    source = Source("n", f"s3://{name}")
    before = list(listing.list_entries(source, settings))
    client.put_object(Bucket=name, Key="n.md", Body=b"other text")  # the same size
    after = list(listing.list_entries(source, settings))
    assert before[0].stamp != after[0].stamp
