"""What every command shares: the consoles, exit codes, help texts and the client."""

from __future__ import annotations

import time

from rich.console import Console

out = Console()


err = Console(stderr=True, soft_wrap=True)  # an error is one line, however narrow


OK, ERROR, USAGE, SOME_FAILED = 0, 1, 2, 3


EXIT_CODES = """exit codes:
  0  done: every document committed (or unchanged, superseded, deleted)
  1  error: a service down, a bad setting, a path the workers may not read
  2  usage: the command line is wrong
  3  some documents failed (the rest went through): see the failures listed"""


JSON = "print JSON for scripts instead of tables"


META = ("KEY=VALUE: metadata of every document, carried by each of its chunks; repeat for "
        "more keys. VALUE true or false is a boolean, 12 an int, 1.5 or 2e3 a float, anything "
        'else a string ("12" in double quotes stays a string). See docs/metadata.md')


TIMEOUT = "seconds to wait for the outcome (default: 300)"


def new_client():
    from ingest_tasks.interfaces.client import IngestClient

    return IngestClient()


def when(stamp: float | None) -> str:
    """A Unix time as local date and time; - for none."""
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
