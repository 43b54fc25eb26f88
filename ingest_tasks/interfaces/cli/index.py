"""Commands of the index: search, and re-embedding with reembed, swap and rollback."""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.table import Table

from ingest_tasks.interfaces.cli.console import ERROR, OK, USAGE, err, new_client, out, when
from ingest_tasks.interfaces.cli.progress import job_bar


def show_index(client, as_json: bool) -> int:
    """The live collection, the ones kept for rollback, and the newest build with its progress."""
    state = client.index()
    live, kept, build = state["live"], state["previous"], state["build"]
    if as_json:
        print(json.dumps(state))
        return OK
    line = f"live: {live['collection']} ({live['model']})"
    if live.get("swapped_at"):
        line += (f", swapped in {when(float(live['swapped_at']))}"
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
    _show_batches(state["embedding_batches"])
    return OK


def _show_batches(groups: list[dict]) -> None:
    """The embedding batches in flight (batch mode), a line each."""
    if not groups:
        return
    waiting = sum(group["documents"] for group in groups)
    out.print(f"embedding batches in flight: {waiting} documents of {len(groups)} groups")
    for group in groups:
        for batch in group["batches"]:
            out.print(f"  job {group['job_id']} group {group['group']}: batch "
                      f"{batch['id'] or '(not sent yet)'} {batch['status']}, "
                      f"{batch['documents']} documents, try {batch['attempt']}, "
                      f"sent {when(group['created'])}")


def cmd_reembed(args) -> int:
    """Re-embed the live index with another model into a new collection, then swap it in."""
    from ingest_tasks.lanes import rebuild

    if not args.resume and not args.model:
        err.print("[red]error:[/red] give --model NAME, or --resume")
        return USAGE
    client = new_client()
    with job_bar("copy") as update:
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
    return _swap(lambda: new_client().swap(report=err.print), None, args.json)


def cmd_rollback(args) -> int:
    """Make the previous live collection live again, caught up with every change since."""
    return _swap(lambda: new_client().rollback(report=err.print), None, args.json)


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


def cmd_search(args) -> int:
    """Search the live index, or the part of it whose metadata passes --where."""
    hits = new_client().search(args.text, k=args.k, where=args.where)
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
