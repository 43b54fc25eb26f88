"""Start one worker pool with its profile: `python -m workers stream|bulk [--print] [options]`."""

import os
import shlex
import sys

from ingest_tasks.core.settings import get_settings

from . import celery_argv, pools


def main(argv: list[str]) -> None:
    """Exec `celery worker` for the named pool, niced as its profile says."""
    known = pools(get_settings())
    if not argv or argv[0] not in known:
        sys.exit(f"usage: python -m workers {{{'|'.join(known)}}} [--print] [celery options]")
    pool, extra = known[argv[0]], argv[1:]
    if "--print" in extra:
        print(shlex.join(celery_argv(pool, tuple(a for a in extra if a != "--print"))))
        return
    os.nice(pool.nice)  # children inherit it: the OS favours the stream pool when busy
    command = celery_argv(pool, tuple(extra))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
