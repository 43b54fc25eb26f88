"""Start one worker pool with its profile, or the beat:
`python -m workers stream|bulk|sources|beat [--print] [options]`."""

import os
import shlex
import sys

from ingest_tasks.core.settings import get_settings

from . import beat_argv, celery_argv, pools


def main(argv: list[str]) -> None:
    """Exec `celery worker` for the named pool, niced as its profile says, or `celery beat`."""
    settings = get_settings()
    known = pools(settings)
    if not argv or argv[0] not in [*known, "beat"]:
        sys.exit(f"usage: python -m workers {{{'|'.join([*known, 'beat'])}}} [--print] "
                 "[celery options]")
    extra = tuple(a for a in argv[1:] if a != "--print")
    if argv[0] == "beat":
        command, nice = beat_argv(settings, extra), 0
    else:
        command, nice = celery_argv(known[argv[0]], extra), known[argv[0]].nice
    if "--print" in argv:
        print(shlex.join(command))
        return
    os.nice(nice)  # children inherit it: the OS favours the stream pool when busy
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
