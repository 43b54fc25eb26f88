"""Stacks of their own for tests, benchmarks and `ingest cost`, and helpers to drive them.

`isolate` points this process's settings at a fresh state folder, free ports and a
collection prefix; `private_stack` brings such a stack up for a block and down after it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest_tasks.core.polling import poll_until
from ingest_tasks.ops.stack import Stack


def free_port() -> int:
    """A TCP port of this machine that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def busy_child(stack: Stack, name: str, timeout: float = 120) -> tuple[int, str]:
    """The pid of a child of pool `name` running a task, once one does, and the task id."""
    app = stack.app
    node, running = f"{name}@{socket.gethostname()}", dict[str, Any]()

    def busy() -> bool:
        active = (app.control.inspect([node], timeout=1).active() or {}).get(node) or []
        running.update(active[0] if active else {})
        return bool(active)

    poll_until(busy, timeout, f"no task running in the {name} pool", interval=0.05)
    return running["worker_pid"], running["id"]


# The shared corpus that benchmarks and `ingest cost` read: INGEST_CORPUS, or shared/corpus
# beside the project folder.
DEFAULT_CORPUS = Path(
    os.environ.get("INGEST_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus")
)


def isolate(redis_url: str, **settings: str) -> Path:
    """Point every INGEST_* setting of this process at a fresh state folder, ports and prefix.

    Call it before anything reads the settings (they are read once per process); the
    processes a Stack starts then take the same environment. Returns the state folder.
    """
    state = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    os.environ.update({
        "INGEST_REDIS_URL": redis_url, "INGEST_STATE_DIR": str(state),
        "INGEST_CHROMA_PORT": str(free_port()), "INGEST_FLOWER_PORT": str(free_port()),
        "INGEST_COLLECTION_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        # workers read the corpus and what runs write under the temporary folder
        "INGEST_SOURCE_ROOTS": os.environ.get("INGEST_SOURCE_ROOTS")
        or os.pathsep.join([str(DEFAULT_CORPUS), tempfile.gettempdir()]),
        **{f"INGEST_{name.upper()}": value for name, value in settings.items()},
    })
    return state


@contextmanager
def private_stack(state: Path, parts: list[str] | None = None) -> Iterator[Stack]:
    """The stack (default: every part) up on the isolated settings for the block, then
    down and its state folder removed."""
    from ingest_tasks.core.settings import get_settings

    stack = Stack(get_settings())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still take the stack down
    try:  # a part that fails to come up takes those already up down with it
        stack.up(parts, report=lambda line: print(line, file=sys.stderr))
        yield stack
    finally:
        stack.down(report=lambda line: print(line, file=sys.stderr))
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def answering(argv: list[str], health_url: str, what: str, timeout: float = 30,
              **popen: Any) -> Iterator[subprocess.Popen]:
    """The server `argv` in a process of its own for the block, once `health_url` answers
    200 (a RuntimeError if it exits first); terminated after."""
    import httpx

    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **popen)

    def answers() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"{what} exited with {server.returncode}")
        try:
            return httpx.get(health_url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll_until(answers, timeout, what, interval=0.05)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
