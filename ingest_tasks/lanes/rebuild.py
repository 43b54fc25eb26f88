"""A blue-green build's copy, sent as a batch job of copy groups on the bulk lane."""

from __future__ import annotations

from collections.abc import Callable

from ingest_tasks.bluegreen import reembed
from ingest_tasks.bluegreen.reembed import Build
from ingest_tasks.lanes import batch
from ingest_tasks.lanes.app import IngestApp
from ingest_tasks.lanes.tasks import BULK_COPY


def start(app: IngestApp, model: str, on_progress: Callable[[dict], None] | None = None) -> Build:
    """Start a build of the live index with `model`: its collection, its change log, its job."""
    build = reembed.begin(app.resources, model, batch.new_job_id())
    return _send(app, build, on_progress)


def resume(app: IngestApp, on_progress: Callable[[dict], None] | None = None) -> Build:
    """Run the current build's job again: documents already copied are skipped."""
    return _send(app, reembed.resumable(app.resources), on_progress)


def _send(app: IngestApp, build: Build, on_progress) -> Build:
    """Send the job that copies every document of the live registry, as it is now."""
    refs = reembed.to_copy(app.resources, build)
    if refs:
        job_id = batch.start_job(
            refs, app, job_id=build.build, model=build.target.model,
            sources=[build.source.collection], on_progress=on_progress,
            group_task=lambda job_id, run, group, refs: app.signature(
                BULK_COPY, args=(job_id, run, group, refs, build.build)))
        reembed.job_sent(app.resources, build, job_id)
    return build
