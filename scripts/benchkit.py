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

from ingest_tasks.testing.stacks import DEFAULT_CORPUS, free_port, isolate, private_stack

__all__ = ["DEFAULT_CORPUS", "api_server", "isolate", "private_stack"]


@contextmanager
def api_server(keys: str, workers: int = 1) -> Iterator[str]:
    """`ingest serve` with these INGEST_API_KEYS and uvicorn workers, in a process of its
    own on a free loopback port, for the block; yields its base URL once it is ready."""
    import httpx

    from ingest_tasks.core.polling import poll_until

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ingest_tasks.interfaces.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "INGEST_API_KEYS": keys}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"ingest serve exited with {server.returncode}")
        try:
            return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll_until(ready, 120, "the API server's readiness", 0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
