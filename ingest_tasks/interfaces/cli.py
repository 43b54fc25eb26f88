"""The `ingest` command: bring the stack up and down, ingest, delete, search, job status,
latency, re-embedding with swap and rollback, metrics, the cost model."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
from ingest_tasks.core.results import FAILED, STATUSES
from ingest_tasks.core.settings import get_settings
from ingest_tasks.ops.stack import PARTS

out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however narrow
OK, ERROR, USAGE, SOME_FAILED = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  done: every document committed (or unchanged, superseded, deleted)
  1  error: a service down, a bad setting, a path the workers may not read
  2  usage: the command line is wrong
  3  some documents failed (the rest went through): see the failures listed"""


def _client():
    from ingest_tasks.interfaces.client import IngestClient

    return IngestClient()


def cmd_up(args) -> int:
    """Start Redis (if none answers), the Chroma server, the pools, the beat and Flower."""
    from ingest_tasks.ops.stack import Stack
    from ingest_tasks.pipeline.roots import remember

    settings = get_settings()
    for root in remember(settings.state_dir, args.source_roots):
        err.print(f"source root added: {root}")
    Stack(settings).up(args.parts, report=err.print)
    roots = [*map(str, settings.roots), *settings.s3_roots]
    err.print("workers read documents under: " + (", ".join(roots) or
              "no folder (only content sent inline); add one with --source-root DIR"))
    return OK


def cmd_down(args) -> int:
    """Stop what `ingest up` started."""
    from ingest_tasks.ops.stack import Stack

    Stack(get_settings()).down(args.parts, report=err.print)
    return OK


def cmd_batch(args) -> int:
    """Send files and folders to the bulk lane as one job and follow it to the end."""
    from ingest_tasks.lanes.batch import new_job_id
    from ingest_tasks.pipeline.sources import discover

    client = _client()
    if not args.resume and not args.paths:
        err.print("[red]error:[/red] give PATH... or --resume JOB")
        return USAGE
    if args.paths:
        client.check_sources(args.paths)
    for path in [] if args.resume else discover(args.paths)[1]:
        err.print(f"[dim]skipped (not a supported kind): {path}[/dim]")
    if args.resume and args.meta:
        err.print("[red]error:[/red] --meta is for a new run: --resume gives the job's own again")
        return USAGE
    job_id = args.resume or args.job or new_job_id()
    err.print(f"job {job_id}: follow it from anywhere with `ingest status {job_id} --watch`")
    with _job_bar(job_id) as update:
        if args.resume:
            client.resume(job_id, on_progress=update)
        else:
            client.submit_batch(args.paths, job_id=job_id, model=args.model, on_progress=update,
                                metadata=args.meta)
        state = client.wait_job(job_id, on_progress=update)
    return _show_job(state, args.json)


@contextmanager
def _job_bar(job_id: str) -> Iterator[Callable[[dict], None]]:
    """A progress bar of a job, fed by its state in Redis; yields the function to feed it."""
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total} done, {task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]:.1f} docs/s"), TextColumn("ETA {task.fields[eta]}"),
        TextColumn("{task.fields[sending]}"),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task(f"job {job_id}", total=None, failed=0, rate=0.0, eta="-", sending="")

        def update(state: dict) -> None:
            eta = state["eta_seconds"]
            bar.update(task, total=state["total"], completed=state["done"],
                       failed=state["failed"], rate=state["docs_per_second"],
                       eta="-" if eta is None else f"{int(eta) // 60}:{int(eta) % 60:02d}",
                       sending=_sending(state))

        yield update


def _sending(state: dict) -> str:
    """How far the producer got, and whether it waits for the bulk queue to drain."""
    if state["sent"] >= state["groups"]:
        return ""
    line = f"sent {state['sent']}/{state['groups']} groups"
    if state["waiting"]:
        s = get_settings()
        line += (f", waiting: bulk queue {state['queue_depth']} (high-water "
                 f"{s.bulk_queue_high_water}, resumes at {s.bulk_queue_low_water})")
    return line


def _follow(client, job_id: str) -> dict:
    """Show the job's progress until it ends."""
    with _job_bar(job_id) as update:
        return client.wait_job(job_id, on_progress=update)


def _show_job(state: dict, as_json: bool) -> int:
    summary = state.get("summary")
    if summary is None:
        err.print(f"[red]job {state['job_id']} ended with {state['status']}: {state.get('error')}")
        return ERROR
    if as_json:
        print(json.dumps(summary))
        return _outcome(summary)
    failures = [d for d in summary["documents"] if d["status"] == "failed"]
    if failures:
        table = Table("document", "reason", title="Failures")
        for doc in failures:
            table.add_row(doc["doc_id"], doc["reason"])
        out.print(table)
    totals = Table("documents", "", title=f"Job {summary['job_id']}")
    for field in ("total", *STATUSES, "chunks", "tokens", "wall_seconds", "docs_per_second"):
        totals.add_row(field.replace("_", " "), str(summary[field]))
    out.print(totals)
    return _outcome(summary)


def _outcome(summary: dict) -> int:
    """The exit code of a finished job: SOME_FAILED if any document failed."""
    return SOME_FAILED if summary["failed"] else OK


def cmd_status(args) -> int:
    """Show the live collection and any build; or a batch job's progress, or its summary."""
    client = _client()
    if args.job is None:
        return _show_index(client, args.json)
    state = client.job_status(args.job)
    if state is None:
        err.print(f"[red]unknown job {args.job}")
        return ERROR
    if args.watch and state["status"] == "running":
        state = _follow(client, args.job)
    if state.get("summary"):
        return _show_job(state, args.json)
    print(json.dumps(state) if args.json else
          f"job {args.job}: {state['status']}, {state['done']} of {state['total']} done, "
          f"{state['failed']} failed" + (f" ({state['error']})" if state.get("error") else ""))
    return OK if state["status"] != "error" else ERROR


def _show_index(client, as_json: bool) -> int:
    """The live collection, the ones kept for rollback, and the newest build with its progress."""
    state = client.index()
    live, kept, build = state["live"], state["previous"], state["build"]
    if as_json:
        print(json.dumps(state))
        return OK
    line = f"live: {live['collection']} ({live['model']})"
    if live.get("swapped_at"):
        line += (f", swapped in {_when(float(live['swapped_at']))}"
                 f", writers paused {float(live.get('pause_seconds', 0)):.3f} s")
    out.print(line)
    for t in kept:
        out.print(f"kept for rollback: {t['collection']} ({t['model']}), {t['owed']} changes owed")
    if build:
        job = state["build_job"]
        progress = f", {job['done']}/{job['total']} copied, {job['docs_per_second']} docs/s" if job else ""
        out.print(f"build {build['build']}: {build['status']}, {build['source']} -> "
                  f"{build['target']} ({build['model']}){progress}, "
                  f"{build['owed']} changes owed")
    return OK


def cmd_reembed(args) -> int:
    """Re-embed the live index with another model into a new collection, then swap it in."""
    from ingest_tasks.lanes import rebuild

    if not args.resume and not args.model:
        err.print("[red]error:[/red] give --model NAME, or --resume")
        return USAGE
    client = _client()
    with _job_bar("copy") as update:
        build = rebuild.resume(client.app, update) if args.resume else client.reembed(args.model, update)
        err.print(f"build {build.build}: {build.source.collection} -> {build.target.collection}")
        state = client.wait_job(build.job_id, on_progress=update) if build.job_id else None
    if state is not None and state.get("summary") is None:
        err.print(f"[red]build job {build.job_id} ended with {state['status']}: {state.get('error')}")
        return ERROR
    copied = state["summary"] if state else None
    if args.no_swap:
        _show_build(copied, None, args.json)
        err.print("build copied; `ingest swap` checks it and makes it live")
        return OK
    return _swap(lambda: client.swap(report=err.print), copied, args.json)


def cmd_swap(args) -> int:
    """Check the current build and make it live (what `ingest reembed` ends with)."""
    return _swap(lambda: _client().swap(report=err.print), None, args.json)


def cmd_rollback(args) -> int:
    """Make the previous live collection live again, caught up with every change since."""
    return _swap(lambda: _client().rollback(report=err.print), None, args.json)


def _swap(run: Callable, copied: dict | None, as_json: bool) -> int:
    from ingest_tasks.core.errors import SwapRefused

    try:
        result = run()
    except SwapRefused as exc:
        if as_json:
            print(json.dumps({"refused": str(exc), "check": exc.report.to_dict() if exc.report else None}))
        err.print(f"[red]swap refused:[/red] {exc}")
        return ERROR
    _show_build(copied, result.to_dict(), as_json)
    return OK


def _show_build(copied: dict | None, swapped: dict | None, as_json: bool) -> None:
    """The copy job's figures and the swap's, as a table or JSON."""
    rows: dict[str, object] = {}
    if copied:
        rows.update(documents=copied["total"], failed=copied["failed"], chunks=copied["chunks"],
                    wall_seconds=copied["wall_seconds"],
                    chunks_per_second=round(copied["chunks"] / max(copied["wall_seconds"], 1e-9), 1))
    if swapped:
        rows.update({k: v for k, v in swapped.items() if k != "check"})
    if as_json:
        print(json.dumps({**rows, "check": swapped["check"] if swapped else None}))
        return
    table = Table("", "", title="Re-embedding")
    for key, value in rows.items():
        table.add_row(key.replace("_", " "), ", ".join(value) if isinstance(value, list) else str(value))
    out.print(table)


def cmd_jobs(args) -> int:
    """List the newest batch jobs with their progress."""
    states = _client().recent_jobs(args.limit)
    if args.json:
        print(json.dumps(states))
        return OK
    table = Table("job", "status", "done", "total", "failed", "docs/s", "sources", title="Jobs")
    for s in states:
        table.add_row(s["job_id"], s["status"], str(s["done"]), str(s["total"]), str(s["failed"]),
                      str(s["docs_per_second"]), ", ".join(s["sources"]))
    out.print(table)
    return OK


def cmd_sources(args) -> int:
    """List the sources: last sync and its counts, last full sync, next run, watcher."""
    rows = _client().sources()
    if args.json:
        print(json.dumps(rows))
        return OK
    for row in rows:
        configured = "" if row["configured"] else " (not configured)"
        schedule = f" ({row['schedule']})" if row["schedule"] else ""
        if row.get("schedule_error"):
            schedule = f" (bad schedule: {row['schedule_error']})"
        lines = [row["name"], f"  uri             {row['uri'] or '-'}{configured}",
                 f"  last sync       {_sync_line(row['last'])}",
                 f"  last full sync  {_sync_line(row['last_full'])}",
                 f"  next run        {_when(row['next_run'])}{schedule}",
                 f"  watcher         {row['watcher'] or '-'}"]
        out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    if not rows:
        err.print("no sources: configure INGEST_SOURCES (docs/sources.md)")
    return OK


def _sync_line(sync: dict | None) -> str:
    """A sync as one line: when it ended and what started it, its counts, seconds and job."""
    from ingest_tasks.sync.overview import OUTCOMES

    if sync is None:
        return "-"
    scope = "" if sync["scope"] == "all" else f", {sync['scope']} paths"
    counts = ", ".join(f"{sync[outcome]} {outcome}" for outcome in OUTCOMES)
    job = f", job {sync['job_id']}" if sync["job_id"] else ""
    return f"{_when(sync['finished'])} ({sync['trigger']}{scope}): {counts}; {sync['seconds']} s{job}"


def _when(stamp: float | None) -> str:
    """A Unix time as local date and time; - for none."""
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def cmd_submit(args) -> int:
    """Stream a small change, or send a large upload as a batch job; wait for the outcome."""
    client = _client()
    handle = client.submit(*args.paths, doc_id=args.id, version=args.version, model=args.model,
                           metadata=args.meta)
    err.print(f"{handle.lane} lane: {handle.id}")
    if handle.lane == BULK_QUEUE:
        state = _follow(client, handle.id)
        if args.json and state.get("summary"):
            print(json.dumps({"lane": handle.lane, **state["summary"]}))
            return _outcome(state["summary"])
        return _show_job(state, args.json)
    return _show_results(handle.lane, handle.wait(timeout=args.timeout), args.json)


def cmd_delete(args) -> int:
    """Remove one document (or every one whose id starts with --prefix) and wait until gone."""
    if (args.doc_id is None) == (args.prefix is None):
        err.print("[red]error:[/red] give DOC_ID or --prefix PREFIX (one of them)")
        return USAGE
    client = _client()
    if args.prefix is not None:
        if args.version is not None:
            err.print("[red]error:[/red] --version is one document's: --prefix uses the clock")
            return USAGE
        sent = client.delete_prefix(args.prefix, args.model)
        err.print(f"{len(sent)} tasks remove the documents under {args.prefix!r}")
        done = Counter[str]()
        for counts in client.wait_tasks([task.id for task in sent], timeout=args.timeout):
            done.update({counts["status"]: 1} if "status" in counts else counts)
        if args.json:
            print(json.dumps({"prefix": args.prefix, **done}))
        else:
            out.print(f"{args.prefix!r}: " + (", ".join(f"{n} {what}" for what, n in done.items())
                                              or "no document has this prefix"))
        return SOME_FAILED if done.get(FAILED) else OK
    result = client.delete(args.doc_id, args.version, args.model).get(timeout=args.timeout)
    return _show_results(STREAM_QUEUE, [result], args.json)


def cmd_sync(args) -> int:
    """Bring the index in line with a source: send what is new or changed, tombstone what vanished."""
    client = _client()
    if args.dry_run:
        report = client.sync(args.source, dry_run=True)
        return _show_plan(report, args.json)
    with _job_bar("of the sync") as update:
        report = client.sync(args.source, wait=args.wait, on_progress=update)
        state = client.wait_job(report.job_id, on_progress=update) if report.job_id else None
    summary = (state or {}).get("summary") or {}
    results = client.wait_tasks(report.tasks, timeout=args.timeout)
    failed = summary.get("failed", 0) + sum(r.get(FAILED, 0) + (r.get("status") == FAILED)
                                            for r in results)
    if args.json:
        print(json.dumps({**report.to_dict(), "failed": failed}))
    else:
        counts = ", ".join(f"{report.counts[k]} {k}" for k in ("new", "changed", "deleted",
                                                               "unchanged"))
        out.print(f"{report.source}: {counts}" + (f"; job {report.job_id}" if report.job_id else "")
                  + (f"; {failed} failed (`ingest status {report.job_id}`)" if failed else "")
                  + ("; finished a sync that was cut off first" if report.resumed else ""))
    return SOME_FAILED if failed else OK


def _show_plan(report, as_json: bool) -> int:
    """What a dry run found: each document that would be sent or removed."""
    plan = report.plan
    if as_json:
        print(json.dumps({**report.to_dict(), **plan.to_dict()}))
        return OK
    for entry, version in plan.upserts:
        out.print(f"send    {entry.relative}  (version {version})")
    for path, _version in plan.deletes:
        out.print(f"delete  {path}")
    out.print(", ".join(f"{n} {what}" for what, n in plan.counts().items()) + " (dry run)")
    return OK


def _show_results(lane: str, results: list[dict], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"lane": lane, "documents": results}))
    for result in [] if as_json else results:
        detail = result["reason"] or f"{result['chunks']} chunks"
        out.print(f"{result['doc_id']}: {result['status']} ({detail})")
    return SOME_FAILED if any(result["status"] == FAILED for result in results) else OK


def cmd_latency(args) -> int:
    """End-to-end latency (submit -> searchable) per lane: p50/p95/p99 and where it goes."""
    from ingest_tasks.state.latency import PARTS, percentiles

    redis = _client().resources.redis
    rows = [percentiles(redis, lane, args.window)
            for lane in args.lanes or (STREAM_QUEUE, BULK_QUEUE)]
    if args.json:
        print(json.dumps(rows))
        return OK
    table = Table("lane", "samples", "p50 s", "p95 s", "p99 s", *(f"{p} %" for p in PARTS),
                  title=f"Latency, last {args.window:.0f} s" if args.window else "Latency")
    for row in rows:
        cells = [str(row.get(q, "-")) for q in ("p50", "p95", "p99")]
        shares = [f"{100 * row['share'][p]:.0f}" if row["samples"] else "-" for p in PARTS]
        table.add_row(row["lane"], str(row["samples"]), *cells, *shares)
    out.print(table)
    return OK


def cmd_search(args) -> int:
    """Search the live index, or the part of it whose metadata passes --where."""
    hits = _client().search(args.text, k=args.k, where=args.where)
    if args.json:
        print(json.dumps([hit.to_dict() for hit in hits]))
        return OK
    tagged = any(hit.metadata for hit in hits)
    table = Table("score", "document", "chunk", *(["metadata"] if tagged else []), "text",
                  title=f"Search: {args.text}")
    for hit in hits:
        snippet = " ".join(hit.text.split())[:120]
        tags = [", ".join(f"{key}={_shown(value)}" for key, value in hit.metadata.items())]
        table.add_row(f"{hit.score:.3f}", hit.doc_id, str(hit.chunk_index),
                      *(tags if tagged else []), snippet)
    out.print(table)
    return OK


def _shown(value: object) -> str:
    """A metadata value as --meta takes it: true/false, numbers, strings as they are."""
    return value if isinstance(value, str) else json.dumps(value)


_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def meta_value(text: str) -> bool | int | float | str:
    """A --meta VALUE: true/false a boolean, 12 an int, 1.5 or 2e3 a float, anything else a
    string; in double quotes ("12", "true"), always a string (so is 007: zeros lead no number)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


class MetaAction(argparse.Action):
    """--meta KEY=VALUE, repeatable: gathers the metadata's keys; a key given twice is a
    usage error."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        """Add one KEY=VALUE to the metadata gathered so far."""
        key, equals, text = str(values).partition("=")
        if not equals or not key:
            parser.error(f"{option_string} takes KEY=VALUE, not {values!r}")
        gathered = dict(getattr(namespace, self.dest) or {})
        if key in gathered:
            parser.error(f"{option_string} {key}=... given twice")
        gathered[key] = meta_value(text)
        setattr(namespace, self.dest, gathered)


def where_filter(text: str) -> dict:
    """A --where JSON filter, checked as the store checks it (argparse's usage error if not)."""
    from ingest_tasks.core.errors import InvalidWhere
    from ingest_tasks.store.where import check_where

    try:
        where = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text}") from None
    try:
        return dict(check_where(where))
    except InvalidWhere as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_watch(args) -> int:
    """Follow a folder until Ctrl-C or SIGTERM: a sync at start, then each change as it settles."""
    import logging

    from ingest_tasks.lanes.worklog import LOGGER, use_format

    client = _client()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(logging.StreamHandler())  # stderr
    use_format([logger], client.settings.log_format)
    try:
        client.watch(args.folder, args.debounce)
    except KeyboardInterrupt:  # a second Ctrl-C, during the last sync
        err.print("stopped before the last sync: the next start's sync catches up")
        return ERROR
    return OK


def seconds(text: str) -> float:
    """A number of seconds above 0 (argparse's usage error if not)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text}")
    return value


def cmd_metrics(args) -> int:
    """Serve metrics for Prometheus at http://0.0.0.0:PORT/metrics until interrupted."""
    from ingest_tasks.ops.metrics import serve

    err.print(f"serving metrics at http://0.0.0.0:{args.port}/metrics")
    serve(get_settings(), args.port)
    return OK


def cmd_serve(args) -> int:
    """Serve the HTTP API and the status page (needs INGEST_API_KEYS)."""
    from ingest_tasks.interfaces.http.server import serve

    settings = get_settings()
    host, port = args.host or settings.api_host, args.port or settings.api_port
    err.print(f"serving the API at http://{host}:{port}/ (schema: /docs, status page: /)")
    serve(settings, host, port, args.workers)
    return OK


def cmd_apikey(args) -> int:
    """Make an API key: print the key once, and the INGEST_API_KEYS entry to configure."""
    from ingest_tasks.interfaces.http.auth import new_key

    secret, entry = new_key(args.name, args.scope)
    if args.json:
        print(json.dumps({"key": secret, "entry": entry}))
        return OK
    print(f"key (shown once; give it to the caller): {secret}")
    print(f"entry (add to INGEST_API_KEYS, comma-separated; it holds only a hash): {entry}")
    return OK


JSON = "print JSON for scripts instead of tables"
META = ("KEY=VALUE: metadata of every document, carried by each of its chunks; repeat for "
        "more keys. VALUE true or false is a boolean, 12 an int, 1.5 or 2e3 a float, anything "
        'else a string ("12" in double quotes stays a string). See docs/metadata.md')
COMMANDS = "ingest_tasks.commands"  # entry points: functions adding a subcommand to the CLI
TIMEOUT = "seconds to wait for the outcome (default: 300)"


def parser() -> argparse.ArgumentParser:
    """The command line's grammar."""
    top = argparse.ArgumentParser(prog="ingest", description=__doc__, epilog=EXIT_CODES,
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


if __name__ == "__main__":
    sys.exit(main())
