"""Commands of documents and jobs: batch, submit, delete, status, jobs, latency."""

from __future__ import annotations

import json
from collections import Counter

from rich.table import Table

from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
from ingest_tasks.core.results import FAILED, STATUSES
from ingest_tasks.interfaces.cli.console import ERROR, OK, SOME_FAILED, USAGE, err, new_client, out
from ingest_tasks.interfaces.cli.index import show_index
from ingest_tasks.interfaces.cli.progress import job_bar


def cmd_batch(args) -> int:
    """Send files and folders to the bulk lane as one job and follow it to the end."""
    from ingest_tasks.lanes.batch import new_job_id
    from ingest_tasks.pipeline.sources import discover

    client = new_client()
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
    with job_bar(job_id) as update:
        if args.resume:
            client.resume(job_id, on_progress=update)
        else:
            client.submit_batch(args.paths, job_id=job_id, model=args.model, on_progress=update,
                                metadata=args.meta)
        state = client.wait_job(job_id, on_progress=update)
    return _show_job(state, args.json)


def _follow(client, job_id: str) -> dict:
    """Show the job's progress until it ends."""
    with job_bar(job_id) as update:
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
    phases = summary.get("phases", {})
    if "steady_s" in phases:  # where the wall time went (state/timelines.py)
        table = Table("phase", "seconds", title="Where the time went")
        for name in ("submit", "first_write", "steady", "tail"):
            table.add_row(name.replace("_", " "), f"{phases[name + '_s']:.3f}")
        table.add_row("store busy in steady", f"{phases['store_busy']:.0%}")
        out.print(table)
    return _outcome(summary)


def _outcome(summary: dict) -> int:
    """The exit code of a finished job: SOME_FAILED if any document failed."""
    return SOME_FAILED if summary["failed"] else OK


def cmd_status(args) -> int:
    """Show the live collection and any build; or a batch job's progress, or its summary."""
    client = new_client()
    if args.job is None:
        return show_index(client, args.json)
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
          f"{state['failed']} failed" + (f" ({state['error']})" if state.get("error") else "")
          + (f", {state['embedding_batches']} groups waiting for embedding batches"
             if state.get("embedding_batches") else ""))
    return OK if state["status"] != "error" else ERROR


def cmd_jobs(args) -> int:
    """List the newest batch jobs with their progress."""
    states = new_client().recent_jobs(args.limit)
    if args.json:
        print(json.dumps(states))
        return OK
    table = Table("job", "status", "done", "total", "failed", "docs/s", "sources", title="Jobs")
    for s in states:
        table.add_row(s["job_id"], s["status"], str(s["done"]), str(s["total"]), str(s["failed"]),
                      str(s["docs_per_second"]), ", ".join(s["sources"]))
    out.print(table)
    return OK


def cmd_submit(args) -> int:
    """Stream a small change, or send a large upload as a batch job; wait for the outcome."""
    client = new_client()
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
    client = new_client()
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

    redis = new_client().resources.redis
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
