"""Commands of sources kept in sync: sync, watch, sources."""

from __future__ import annotations

import json

from ingest_tasks.core.results import FAILED
from ingest_tasks.interfaces.cli.console import ERROR, OK, SOME_FAILED, err, new_client, out, when
from ingest_tasks.interfaces.cli.progress import job_bar


def cmd_sources(args) -> int:
    """List the sources: last sync and its counts, last full sync, next run, watcher."""
    rows = new_client().sources()
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
                 f"  next run        {when(row['next_run'])}{schedule}",
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
    return f"{when(sync['finished'])} ({sync['trigger']}{scope}): {counts}; {sync['seconds']} s{job}"


def cmd_sync(args) -> int:
    """Bring the index in line with a source: send what is new or changed, tombstone what vanished."""
    client = new_client()
    if args.dry_run:
        report = client.sync(args.source, dry_run=True)
        return _show_plan(report, args.json)
    with job_bar("of the sync") as update:
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


def cmd_watch(args) -> int:
    """Follow a folder until Ctrl-C or SIGTERM: a sync at start, then each change as it settles."""
    import logging

    from ingest_tasks.lanes.worklog import LOGGER, use_format

    client = new_client()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(logging.StreamHandler())  # stderr
    use_format([logger], client.settings.log_format)
    try:
        client.watch(args.folder, args.debounce)
    except KeyboardInterrupt:  # a second Ctrl-C, during the last sync
        err.print("stopped before the last sync: the next start's sync catches up")
        return ERROR
    return OK
