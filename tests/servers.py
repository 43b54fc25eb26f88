"""Servers the tests start: the bundled embedding service in a process of its own."""

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from ingest_tasks.stack import free_port

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def serving(folder: Path, *options: str, port: int | None = None):
    """A server process of `python -m ingest_tasks.embed_server` with `options`; its URL."""
    port = port or free_port()
    log_path = folder / f"server-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "ingest_tasks.embed_server", "--port", str(port), *options],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, log_path)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(url: str, server: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    """Poll /health until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()
        try:
            httpx.get(f"{url}/health", timeout=1).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {timeout} s")
