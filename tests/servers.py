"""Servers the tests start: the bundled embedding service in a process of its own
(`ingest_tasks.testing.embed_server.serving`, which the fault suite uses too), and moto's
S3 server (`s3_serving`, the `s3_server` fixture) with `put_bucket` to fill it."""

import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest_tasks.testing.embed_server import serving
from ingest_tasks.testing.stacks import answering

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "put_bucket", "s3_serving", "serving"]


@contextmanager
def s3_serving(folder: Path, port: int) -> Iterator[str]:
    """moto's S3 server (its server mode) on a loopback port in a process of its own,
    logging into `folder`, for the block; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    log_path = folder / f"moto-s3-{port}.log"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log, answering(argv, f"{url}/moto-api/data.json",
                                               f"moto's S3 server at {url} (its log: {log_path})",
                                               stdout=log, stderr=subprocess.STDOUT):
        yield url


def put_bucket(s3: Any, objects: Mapping[str, bytes | str], bucket: str = "") -> str:
    """A new bucket (named afresh unless `bucket` is given) holding `objects` by key; its name."""
    bucket = bucket or f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)
    return bucket
