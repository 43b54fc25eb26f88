"""What the benchmark scripts share: a private stack, isolated from the user's data.

Import it before anything of ingest_tasks: `isolate()` sets the INGEST_* environment
that the settings (read once per process) and the stack's processes take. The helpers
live in ingest_tasks.ops.stack, where `ingest cost` uses them too.
"""

from ingest_tasks.testing.stacks import DEFAULT_CORPUS, isolate, private_stack

__all__ = ["DEFAULT_CORPUS", "isolate", "private_stack"]
