"""What the benchmark scripts share: a private stack, isolated from the user's data.

Import it before anything of ingest_tasks: `isolate()` sets the INGEST_* environment
that the settings (read once per process) and the stack's processes take.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from ingest_tasks.stack import free_port

DEFAULT_CORPUS = Path(
    os.environ.get("INGEST_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)


def isolate(redis_url: str, **settings: str) -> Path:
    """Point every INGEST_* setting of this process at a fresh state folder, ports and prefix."""
    state = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    os.environ.update({
        "INGEST_REDIS_URL": redis_url, "INGEST_STATE_DIR": str(state),
        "INGEST_CHROMA_PORT": str(free_port()), "INGEST_FLOWER_PORT": str(free_port()),
        "INGEST_COLLECTION_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        **{f"INGEST_{name.upper()}": value for name, value in settings.items()},
    })
    return state


@contextmanager
def private_stack(state: Path):
    """The whole stack up on the isolated settings for the block, then down and removed."""
    from ingest_tasks.settings import get_settings
    from ingest_tasks.stack import Stack

    stack = Stack(get_settings())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still take the stack down
    stack.up(report=lambda line: print(line, file=sys.stderr))
    try:
        yield stack
    finally:
        stack.down(report=lambda line: print(line, file=sys.stderr))
        shutil.rmtree(state, ignore_errors=True)
