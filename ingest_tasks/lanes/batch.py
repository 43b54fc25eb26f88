"""Batch jobs: documents grouped into tasks, a chord over the groups, a summary at the end."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from celery import chord

from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes import backpressure
from ingest_tasks.lanes.app import IngestApp
from ingest_tasks.lanes.tasks import BULK_GROUP, JOB_FAILED, SUMMARIZE
from ingest_tasks.pipeline.embed import model_static
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import jobs


def group_refs(refs: list[DocRef], max_docs: int, max_bytes: int) -> list[list[DocRef]]:
    """Split documents into groups of at most `max_docs` and about `max_bytes` each.

    Largest documents first: the long tasks start early, and the job ends on small groups
    that spread over every process instead of one big one that runs alone. (A group's
    store writes start with its first document parsed: see pipeline.write_behind.)
    """
    groups: list[list[DocRef]] = []
    current: list[DocRef] = []
    size = 0
    for ref in sorted(refs, key=lambda ref: -ref.size):
        if current and (len(current) >= max_docs or size + ref.size > max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(ref)
        size += ref.size
    if current:
        groups.append(current)
    return groups


def group_bytes(refs: list[DocRef], settings: Settings, static: bool) -> int:
    """The bytes of a group of the job: INGEST_GROUP_MAX_BYTES, or for a static model (its
    store the bottleneck) groups as large as INGEST_GROUP_MAX_BYTES_STATIC allows, but at
    least four per bulk process, so that the job's end spreads over every process.

    A group's store writes hold what it has parsed (pipeline.write_behind), and each write
    costs the server tens of ms besides its vectors: a store-bound job wants few, large ones.
    """
    if not static:
        return settings.group_max_bytes
    spread = sum(ref.size for ref in refs) // (4 * settings.bulk_concurrency)
    return max(settings.group_max_bytes, min(settings.group_max_bytes_static, spread))


def new_job_id() -> str:
    """A fresh job id."""
    return uuid.uuid4().hex[:12]


def start_job(refs: list[DocRef], app: IngestApp, job_id: str | None = None,
              model: str | None = None, sources: Sequence[str] = (),
              on_progress: Callable[[dict], None] | None = None,
              group_task: Callable[[str, int, int, list[dict]], object] | None = None,
              metadata: Mapping | None = None) -> str:
    """Start a run of the job (new, or again to resume it) and send its chords; returns its id.

    Blocks while the bulk queue is past its high-water mark (see backpressure), telling
    `on_progress` the job's state at each look at the queue. Each group is a task
    ingest_group(job_id, run, group, refs, model), or `group_task(job_id, run, group, refs)`.
    `metadata`, the caller's, becomes every document's (None keeps their own) and is stored
    with the job, so that a resumed run gives it again.
    """
    settings, redis = app.settings, app.resources.redis
    job_id = job_id or new_job_id()
    submitted = time.time()
    refs = [replace(ref, submitted=submitted) if metadata is None else
            replace(ref, submitted=submitted, metadata=dict(metadata)) for ref in refs]
    groups = group_refs(refs, settings.group_max_docs,
                        group_bytes(refs, settings, model_static(model or settings.embedding_model)))
    size = backpressure.segment_size(settings)
    chords = [groups[start : start + size] for start in range(0, len(groups), size)]
    run = jobs.create(redis, job_id, len(refs), len(groups), len(chords),
                      settings.job_ttl_seconds, list(sources), model or "", dict(metadata or {}))
    if group_task is None:

        def group_task(job_id: str, run: int, group: int, refs: list[dict]):
            return app.signature(BULK_GROUP, args=(job_id, run, group, refs, model))

    for number, members in enumerate(chords):
        sent = number * size

        def report(depth: int, waiting: bool, sent: int = sent) -> bool:
            current = jobs.sending(redis, job_id, run, sent, depth, waiting)
            state = jobs.progress(redis, job_id)
            if current and on_progress and state is not None:
                on_progress(state)
            return current

        if not backpressure.wait_for_room(app, settings, report):
            break  # the job was run again elsewhere: that run sends its own chords
        _send_chord(app, job_id, run, number, sent, members, submitted, group_task)
    jobs.sending(redis, job_id, run, len(groups), backpressure.queue_depth(app), False)
    return job_id


def _send_chord(app: IngestApp, job_id: str, run: int, number: int, first: int,
                groups: list[list[DocRef]], submitted: float, group_task) -> None:
    """One chord: a task per group (numbered across the job), and its callback."""
    header = [group_task(job_id, run, first + index, [ref.to_dict() for ref in group])
              for index, group in enumerate(groups)]
    callback = app.signature(SUMMARIZE, args=(job_id, run, number, submitted))
    callback = callback.on_error(app.signature(JOB_FAILED, args=(job_id, run)))
    chord(header, app=app)(callback)
