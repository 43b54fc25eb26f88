"""S3 objects as workers read them: s3://bucket/key, under an S3 source root, within a limit.

A key is under a root if the root is its bucket's, or the key starts with the root's
prefix and "/" (s3://b/pre holds s3://b/pre/a.md, not s3://b/prefix2/a.md). A key with
an empty, `.` or `..` segment is refused: a server or proxy on the way may resolve it out
of its root. The client (endpoint and region from the settings, keys from the AWS_*
environment) is made on first use, once per process: boto3 is imported only then.

A missing object or bucket, or a refusal, is a SourceError; S3 not answering, or
answering that it is busy or failing (a 5xx, a throttle), is SourceUnavailable, so the
task is retried.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

from ingest_tasks.core.errors import (
    IngestError,
    SourceError,
    SourceOutsideRoots,
    SourceUnavailable,
    TooLarge,
)
from ingest_tasks.core.settings import S3_SCHEME

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings

_BUSY = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                   "RequestTimeoutException", "ServiceUnavailable", "InternalError"})
_MISSING = frozenset({"NoSuchKey", "NotFound", "404"})


def split_uri(uri: str) -> tuple[str, str]:
    """The bucket and key (or prefix, maybe empty) of s3://bucket/key; SourceError if no bucket."""
    bucket, _, key = uri.removeprefix(S3_SCHEME).partition("/")
    if not uri.startswith(S3_SCHEME) or not bucket:
        raise SourceError(f"{uri}: an S3 location is s3://bucket or s3://bucket/key")
    return bucket, key


def normalized(uri: str) -> str:
    """An S3 prefix as s3://bucket or s3://bucket/prefix, without a trailing slash."""
    bucket, prefix = split_uri(uri)
    prefix = prefix.rstrip("/")
    return f"{S3_SCHEME}{bucket}/{prefix}" if prefix else f"{S3_SCHEME}{bucket}"


def plain_key(key: str) -> bool:
    """Whether a key has no empty, `.` or `..` part (which a server might resolve away)."""
    return all(part not in ("", ".", "..") for part in key.split("/"))


def confine(uri: str, roots: list[str]) -> tuple[str, str]:
    """The bucket and key of an object under one of the S3 `roots`; SourceOutsideRoots
    (saying what to run) otherwise."""
    bucket, key = split_uri(uri)
    if not plain_key(key):
        raise SourceOutsideRoots(f"{uri} is refused: its key has an empty, `.` or `..` part, "
                                 "which a server could resolve out of its root")
    if not _covered(bucket, key, roots, whole=False):
        _outside(uri, bucket, key.rpartition("/")[0], roots)
    return bucket, key


def check_prefix(uri: str, roots: list[str]) -> None:
    """SourceOutsideRoots (saying what to run) unless the objects under the S3 prefix `uri`
    are all under one of the S3 `roots`."""
    bucket, prefix = split_uri(normalized(uri))
    if not _covered(bucket, prefix, roots, whole=True):
        _outside(uri, bucket, prefix, roots)


def _covered(bucket: str, key: str, roots: list[str], whole: bool) -> bool:
    """Whether `key` (`whole`: or every key under it, as a prefix) is under a root."""
    for root in roots:
        root_bucket, prefix = split_uri(root)
        prefix = prefix.rstrip("/")
        if root_bucket == bucket and (not prefix or key.startswith(prefix + "/")
                                      or (whole and key == prefix)):
            return True
    return False


def _outside(uri: str, bucket: str, prefix: str, roots: list[str]) -> NoReturn:
    folder = normalized(f"{S3_SCHEME}{bucket}/{prefix}")
    raise SourceOutsideRoots(
        f"{uri} is under none of the S3 source roots ({', '.join(roots) or 'none'}): run "
        f"`ingest up --source-root {folder}` (or add it to INGEST_SOURCE_ROOTS)")


def client(settings: Settings) -> Any:
    """This process's S3 client for the settings' endpoint and region, made on first use."""
    return _client(settings.s3_endpoint_url, settings.s3_region, os.getpid())


@lru_cache(maxsize=4)
def _client(endpoint_url: str, region: str, _pid: int) -> Any:
    """A client of its own per process (keyed by pid: a forked child never uses its parent's)."""
    import boto3
    from botocore.config import Config

    # botocore retries a blip within seconds; a longer outage is the task's retry with backoff
    config = Config(connect_timeout=5, read_timeout=30,
                    retries={"mode": "standard", "max_attempts": 3})
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None,
                                          region_name=region, config=config)


def read_object(uri: str, max_bytes: int, setting: str, settings: Settings) -> bytes:
    """The bytes of an object under an S3 source root, refused past `max_bytes`."""
    bucket, key = confine(uri, settings.s3_roots)
    with translated(uri):
        response = client(settings).get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        try:  # the size is known before the body is read: a large one is never read
            if response["ContentLength"] > max_bytes:
                raise TooLarge(f"{uri} is {response['ContentLength']:,} bytes, over the "
                               f"limit of {max_bytes:,} ({setting})")
            data = body.read(max_bytes + 1)
        finally:
            body.close()
    if len(data) > max_bytes:
        raise TooLarge(f"{uri} is over the limit of {max_bytes:,} bytes ({setting}) as read")
    return data


@contextmanager
def translated(uri: str) -> Iterator[None]:
    """Raise a failed S3 call of the block as SourceError or SourceUnavailable about `uri`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise _failure(uri, exc) from exc


def _failure(uri: str, exc: Exception) -> IngestError:
    """What a failed call means: S3 down or busy (retry), or this object cannot be read."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        IncompleteReadError,
    )

    if isinstance(exc, (ConnectionError, HTTPClientError, IncompleteReadError)):
        return SourceUnavailable(f"S3 did not answer for {uri}: {exc}")
    if not isinstance(exc, ClientError):
        return SourceError(f"cannot read {uri}: {exc}")
    error, meta = exc.response.get("Error", {}), exc.response.get("ResponseMetadata", {})
    code, status = str(error.get("Code", "")), int(meta.get("HTTPStatusCode", 0))
    if status >= 500 or status == 429 or code in _BUSY:
        return SourceUnavailable(f"S3 is busy or failing for {uri}: {code or status} "
                                 f"{error.get('Message', '')}".rstrip())
    if code in _MISSING:
        return SourceError(f"cannot read {uri}: no such object")
    if code == "NoSuchBucket":
        return SourceError(f"cannot read {uri}: no such bucket {split_uri(uri)[0]}")
    return SourceError(f"cannot read {uri}: {code or status} {error.get('Message', '')}".rstrip())
