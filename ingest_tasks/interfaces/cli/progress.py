"""The progress bar of a job, fed by its state in Redis: batch, sync and re-embedding show it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn

from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.cli.console import err


@contextmanager
def job_bar(job_id: str) -> Iterator[Callable[[dict], None]]:
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
