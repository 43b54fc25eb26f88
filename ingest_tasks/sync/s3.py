"""Listing an S3 prefix: ListObjectsV2 pages into Entry records; no object's body is read.

Left out, as a folder's listing leaves them out: keys ending in "/" (the "folders" that
consoles make), keys whose path under the source is hidden or of an unsupported kind
(folder.listed), and keys workers would refuse (an empty, `.` or `..` part, see
pipeline.s3). An object's stamp is its ETag and LastModified: an upload gives it new ones
both. Its version asked for is LastModified in nanoseconds (the plan raises it past the one
sent before, so an upload within the same second still outranks it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ingest_tasks.core.settings import S3_SCHEME
from ingest_tasks.pipeline.s3 import client, plain_key, split_uri, translated
from ingest_tasks.pipeline.sources import listed
from ingest_tasks.sync.entry import Entry

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.sync.sources import Source

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def list_entries(source: Source, settings: Settings, under: list[str] | None = None,
                 page_size: int = 1000) -> Iterator[Entry]:
    """The supported objects under the source's prefix (or at and below `under`), in key
    order per scope; `page_size` keys per ListObjectsV2 request."""
    bucket, prefix = split_uri(source.uri)
    base = f"{prefix}/" if prefix else ""
    s3 = client(settings)
    seen: set[str] = set()
    with translated(source.uri):
        for scope in [""] if under is None else sorted(set(under)):
            for item in _scope(s3, bucket, base, scope.strip("/"), page_size):
                relative = item["Key"][len(base):]
                if relative not in seen and plain_key(item["Key"]) and listed(relative):
                    seen.add(relative)
                    yield _entry(bucket, relative, item)


def _scope(s3: Any, bucket: str, base: str, scope: str, page_size: int) -> Iterator[dict]:
    """The objects at `scope` under `base`: the object of that name, and those below it."""
    if not scope:
        yield from _pages(s3, bucket, base, page_size)
        return
    exact = base + scope  # listed first among the keys it starts, if it is one
    first = s3.list_objects_v2(Bucket=bucket, Prefix=exact, MaxKeys=1).get("Contents", [])
    if first and first[0]["Key"] == exact:
        yield first[0]
    yield from _pages(s3, bucket, f"{exact}/", page_size)


def _pages(s3: Any, bucket: str, prefix: str, page_size: int) -> Iterator[dict]:
    """Every object whose key starts with `prefix`, page by page."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
    for page in pages:
        yield from page.get("Contents", [])


def _entry(bucket: str, relative: str, item: dict) -> Entry:
    modified = (item["LastModified"] - _EPOCH) // timedelta(microseconds=1) * 1000
    etag = item["ETag"].strip('"')
    return Entry(relative, f"{S3_SCHEME}{bucket}/{item['Key']}", f"{etag}:{modified}", modified,
                 item["Size"])
