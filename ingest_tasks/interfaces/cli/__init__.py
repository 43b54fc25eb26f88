"""The `ingest` command: bring the stack up and down, ingest, delete, search, job status,
latency, re-embedding with swap and rollback, sources kept in sync, metrics, the cost model.

The grammar is here; the commands live by concern: stack (up, down, serve...), jobs,
index (search, re-embedding), sources (sync, watch); console holds what they share.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import entry_points, version
from pathlib import Path

from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
from ingest_tasks.interfaces.cli.arguments import MetaAction, seconds, where_filter
from ingest_tasks.interfaces.cli.console import ERROR, EXIT_CODES, JSON, META, TIMEOUT, err
from ingest_tasks.interfaces.cli.index import cmd_reembed, cmd_rollback, cmd_search, cmd_swap
from ingest_tasks.interfaces.cli.jobs import (
    cmd_batch,
    cmd_delete,
    cmd_jobs,
    cmd_latency,
    cmd_status,
    cmd_submit,
)
from ingest_tasks.interfaces.cli.sources import cmd_sources, cmd_sync, cmd_watch
from ingest_tasks.interfaces.cli.stack import cmd_apikey, cmd_down, cmd_metrics, cmd_serve, cmd_up
from ingest_tasks.ops.stack import PARTS

COMMANDS = "ingest_tasks.commands"  # entry points: functions adding a subcommand to the CLI


def parser() -> argparse.ArgumentParser:
    """The command line's grammar."""
    top = argparse.ArgumentParser(prog="ingest", description=__doc__.split("\n\n")[0],
                                  epilog=EXIT_CODES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"%(prog)s {version('ingest-tasks')}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, run in (("down", cmd_down), ("up", cmd_up)):  # `up` last: it takes more
        p = _command(sub, name, run)
        p.add_argument("parts", nargs="*", metavar="PART",
                       help=f"only these of {', '.join(PARTS)} (default: all)")
    p.add_argument("--source-root", dest="source_roots", action="append", default=[],
                   metavar="DIR", help="a folder (or s3://bucket/prefix) the workers may read "
                   "documents from (repeat for more); remembered in the state folder, beside "
                   "INGEST_SOURCE_ROOTS")
    p = _command(sub, "batch", cmd_batch)
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files and folders")
    p.add_argument("--job", help="job id (default: a new one); an earlier id runs it again")
    p.add_argument("--model", help="embedding model of this job (default: the configured one)")
    p.add_argument("--resume", metavar="JOB", help="run JOB again over its sources (and "
                   "metadata), skipping what it already committed")
    p.add_argument("--meta", action=MetaAction, metavar="KEY=VALUE", help=META)
    p.add_argument("--json", action="store_true", help="print the job summary as JSON")
    p = _command(sub, "status", cmd_status)
    p.add_argument("job", nargs="?", help="a batch job (default: the index: alias and build)")
    p.add_argument("--watch", action="store_true", help="follow a running job to its end")
    p.add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "jobs", cmd_jobs)
    p.add_argument("--limit", type=int, default=20, help="how many jobs (default: 20)")
    p.add_argument("--json", action="store_true", help=JSON)
    _command(sub, "sources", cmd_sources).add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "submit", cmd_submit)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files and folders")
    p.add_argument("--id", help="document id of a single file (default: its name)")
    p.add_argument("--version", type=int,
                   help="document version (default: the file's modification time, ns)")
    p.add_argument("--model", help="embedding model (default: the configured one)")
    p.add_argument("--meta", action=MetaAction, metavar="KEY=VALUE", help=META)
    p.add_argument("--timeout", type=float, default=300, help=TIMEOUT)
    p.add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "delete", cmd_delete)
    p.add_argument("doc_id", nargs="?", help="the document's id")
    p.add_argument("--prefix", help="remove every document whose id starts with this")
    p.add_argument("--version", type=int, help="tombstone version (default: the clock, now)")
    p.add_argument("--model", help="embedding model (default: the configured one)")
    p.add_argument("--timeout", type=float, default=300, help=TIMEOUT)
    p.add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "sync", cmd_sync)
    p.add_argument("source", metavar="SOURCE", help="a folder, s3://bucket/prefix, or the name "
                   "of one of INGEST_SOURCES")
    p.add_argument("--dry-run", action="store_true", help="list and compare only: print what "
                   "would be sent and removed, send nothing")
    p.add_argument("--wait", type=float, metavar="SECONDS", help="if another sync of the source "
                   "runs, wait this long for it (default: INGEST_SYNC_LOCK_WAIT, 0: refuse)")
    p.add_argument("--timeout", type=float, default=300, help=TIMEOUT)
    p.add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "latency", cmd_latency)
    p.add_argument("--lane", dest="lanes", action="append", choices=(STREAM_QUEUE, BULK_QUEUE),
                   help="one lane (default: both)")
    p.add_argument("--window", type=float, default=3600, help="seconds back (0: all kept)")
    p.add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "search", cmd_search)
    p.add_argument("text", help="what to look for")
    p.add_argument("-k", type=int, default=5, help="how many hits (default: 5)")
    p.add_argument("--where", type=where_filter, metavar="JSON",
                   help='only chunks whose metadata passes this filter, in Chroma\'s language: '
                   '{"team": "red"}, {"year": {"$gte": 2020}}, operators $eq $ne $gt $gte $lt '
                   '$lte $in $nin, {"$and": [...]} and {"$or": [...]}. See docs/metadata.md')
    p.add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "reembed", cmd_reembed)
    p.add_argument("--model", help="the new embedding model")
    p.add_argument("--resume", action="store_true", help="run the current build's copy again, "
                   "skipping what it already copied")
    p.add_argument("--no-swap", action="store_true", help="copy only; `ingest swap` later")
    p.add_argument("--json", action="store_true", help=JSON)
    for name, run in (("swap", cmd_swap), ("rollback", cmd_rollback)):
        _command(sub, name, run).add_argument("--json", action="store_true", help=JSON)
    p = _command(sub, "watch", cmd_watch)
    p.add_argument("folder", metavar="FOLDER", help="a folder under the workers' source roots, "
                   "or the name of a folder source of INGEST_SOURCES")
    p.add_argument("--debounce", type=seconds, metavar="SECONDS", help="seconds of quiet on a "
                   "file before it is sent (default: INGEST_WATCH_DEBOUNCE, 0.5)")
    p = _command(sub, "metrics", cmd_metrics)
    p.add_argument("--port", type=int, default=9808, help="port to serve on (default: 9808)")
    p = _command(sub, "serve", cmd_serve)
    p.add_argument("--host", help="address to listen on (default: INGEST_API_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: INGEST_API_PORT, 8900)")
    p.add_argument("--workers", type=int, default=1, help="server processes (default: 1)")
    p = _command(sub, "apikey", cmd_apikey)
    p.add_argument("name", help="who holds the key (letters, digits, _ . -)")
    p.add_argument("--scope", choices=("read", "write", "admin"), default="read",
                   help="read: search and status; write: also submit and delete; admin: all "
                   "(default: read)")
    p.add_argument("--json", action="store_true", help=JSON)
    for command in entry_points(group=COMMANDS):  # `ingest cost`, and any other add-on
        command.load()(sub)
    return top


def _command(sub, name: str, run: Callable) -> argparse.ArgumentParser:
    """A subcommand running `run`, its docstring as help, the exit codes below."""
    p = sub.add_parser(name, help=run.__doc__, description=run.__doc__, epilog=EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ingest` console script."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    from ingest_tasks.core.errors import IngestError

    args = parser().parse_args(argv)  # exits USAGE on a wrong command line
    try:
        return args.run(args)
    except KeyError as exc:  # an unknown job
        err.print(f"[red]error:[/red] {exc.args[0]}")
    except (IngestError, TimeoutError, RuntimeError, ValueError, RedisError, OperationalError) as exc:
        err.print(f"[red]error:[/red] {exc}")
    return ERROR
