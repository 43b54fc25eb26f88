"""Batch jobs: documents grouped into tasks, a chord over the groups, a summary at the end."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from celery import chord

from . import bulk_load, jobs
from .embed import embedder_class
from .sources import DocRef


def group_refs(refs: list[DocRef], max_docs: int, max_bytes: int,
               largest_first: bool = True) -> list[list[DocRef]]:
    """Split documents into groups of at most `max_docs` and about `max_bytes` each.

    Largest documents first when the model is the bottleneck: the long tasks start
    early, and the job ends on small groups that spread over every process instead of
    one big one that runs alone. Smallest first when the store is (static models): its
    writes start as soon as a small group is parsed, instead of after a big one.
    """
    groups: list[list[DocRef]] = []
    current: list[DocRef] = []
    size = 0
    for ref in sorted(refs, key=lambda ref: -ref.size if largest_first else ref.size):
        if current and (len(current) >= max_docs or size + ref.size > max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(ref)
        size += ref.size
    if current:
        groups.append(current)
    return groups


def start_job(refs: list[DocRef], resources, job_id: str | None = None,
              model: str | None = None, sources: list[str] = ()) -> str:
    """Start a run of the job (new, or again to resume it) and send its chord; returns its id."""
    from .tasks import ingest_group, job_failed, summarize_job

    settings = resources.settings
    job_id = job_id or uuid.uuid4().hex[:12]
    submitted = time.time()
    refs = [replace(ref, submitted=submitted) for ref in refs]
    static = embedder_class(model or settings.embedding_model).static
    max_bytes = settings.group_max_bytes_static if static else settings.group_max_bytes
    groups = group_refs(refs, settings.group_max_docs, max_bytes, largest_first=not static)
    run = jobs.create(resources.redis, job_id, len(refs), len(groups), settings.job_ttl_seconds,
                      list(sources), model or "")
    bulk_load.begin(resources, job_id, model)
    header = [
        ingest_group.s(job_id, run, number, [ref.to_dict() for ref in group], model)
        for number, group in enumerate(groups)
    ]
    callback = summarize_job.s(job_id, run, submitted, model)
    callback = callback.on_error(job_failed.s(job_id, run, model))
    result = chord(header)(callback)
    _stop_waiting(result)
    return job_id


def _stop_waiting(result) -> None:
    """Stop the backend listening for the chord's results, which we never read.

    The job is followed through its state in Redis. Left pending, these results would
    unsubscribe in their finalisers while the interpreter shuts down, and fail there.
    """
    backend = result.backend
    ids = {result.id, *(child.id for child in getattr(result.parent, "results", ()))}
    for mapping in backend._pending_results:
        for task_id in ids & set(mapping):
            for waiter in list(mapping[task_id].values()):
                backend.remove_pending_result(waiter)
