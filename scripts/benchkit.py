"""What the benchmark scripts share: a private stack, isolated from the user's data, and
the HTTP API served over it.

Import it before anything of ingest_tasks: `isolate()` sets the INGEST_* environment
that the settings (read once per process) and the stack's processes take. The helpers
live in ingest_tasks.testing.stacks, where `ingest cost` uses them too.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ingest_tasks.testing.stacks import DEFAULT_CORPUS, answering, free_port, isolate, private_stack

__all__ = ["DEFAULT_CORPUS", "api_server", "isolate", "private_stack"]


@contextmanager
def api_server(keys: str, workers: int = 1) -> Iterator[str]:
    """`ingest serve` with these INGEST_API_KEYS and uvicorn workers, in a process of its
    own on a free loopback port, for the block; yields its base URL once it is ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "ingest_tasks.interfaces.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers)]
    with answering(argv, f"{url}/readyz", "the API server", 120,
                   env={**os.environ, "INGEST_API_KEYS": keys},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        yield url
