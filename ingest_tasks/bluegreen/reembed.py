"""Re-embedding builds: the live index copied into a new collection, embedded by a new model.

A build gets a collection named for its model and build id. From the moment it starts,
every change to the live collection is owed to it (changes.py); then a batch job on the
bulk lane copies every document the live registry holds (copying.py), in groups, with
progress and resume like any job. Once the job has ended, `finish` swaps the build in
(swap.py), which copies what changed meanwhile and checks it first. One build at a time:
starting another abandons an unfinished one and drops its collection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ingest_tasks.bluegreen.swap import SwapResult, swap_to
from ingest_tasks.core.errors import BuildError, SwapRefused
from ingest_tasks.core.keys import BUILD_KEY
from ingest_tasks.core.models import check_model
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import changes, jobs, registry
from ingest_tasks.state.alias import Target, collection_name, previous

if TYPE_CHECKING:
    from redis import Redis

    from ingest_tasks.pipeline.resources import Resources

BUILDING, SWAPPED, REFUSED, ABANDONED = "building", "swapped", "refused", "abandoned"


@dataclass
class Build:
    """A re-embedding build: where it copies from and to, its job, how it ended."""

    build: str
    source: Target
    target: Target
    status: str
    started: float
    job_id: str = ""  # "" when the live collection was empty: nothing to copy
    report: str = ""  # the last swap attempt's outcome, JSON

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {**asdict(self), "source": self.source.collection, "target": self.target.collection,
                "model": self.target.model, "source_model": self.source.model}


def current(redis: Redis, prefix: str) -> Build | None:
    """The newest build of the collections named with `prefix`, whatever its state."""
    fields = redis.hgetall(BUILD_KEY + prefix)
    if not fields:
        return None
    return Build(fields["build"], Target.from_json(fields["source"]),
                 Target.from_json(fields["target"]), fields["status"], float(fields["started"]),
                 fields.get("job_id", ""), fields.get("report", ""))


def _save(redis: Redis, prefix: str, build: Build) -> None:
    redis.hset(BUILD_KEY + prefix, mapping={
        "build": build.build, "source": build.source.to_json(), "target": build.target.to_json(),
        "status": build.status, "started": build.started, "job_id": build.job_id,
        "report": build.report,
    })


def begin(resources: Resources, model: str, build_id: str) -> Build:
    """Open a build of the live index with `model`: its collection and its change log.

    The lanes send its copy job (lanes.rebuild); a running build must end first.
    """
    redis, settings = resources.redis, resources.settings
    check_model(model)  # ValueError naming the known models
    old = current(redis, settings.collection_prefix)
    if old is not None and old.status == BUILDING and _job_running(redis, old):
        raise BuildError(f"build {old.build} is still running: follow it with `ingest status`")
    live = resources.target()
    target = Target(collection_name(settings.collection_prefix, model, build_id), model, build_id)
    resources.collection(target)  # created now, so searches of a new build never fail
    changes.follow(redis, live.collection, target.collection)  # before the copy reads anything
    build = Build(build_id, live, target, BUILDING, time.time())
    if old is not None and old.status in (BUILDING, REFUSED):
        _abandon(resources, old)
    _save(redis, settings.collection_prefix, build)
    return build


def resumable(resources: Resources) -> Build:
    """The current build, if its copy can run again (documents already copied are skipped)."""
    build = current(resources.redis, resources.settings.collection_prefix)
    if build is None or build.status != BUILDING:
        raise BuildError("no build to resume: start one with `ingest reembed --model NAME`")
    return build


def to_copy(resources: Resources, build: Build) -> list[DocRef]:
    """Every document of the live registry, as it is now: what the build's job copies."""
    return [DocRef(doc_id, "", entry.version, entry.size)
            for doc_id, entry in registry.entries(resources.redis, build.source.collection)]


def job_sent(resources: Resources, build: Build, job_id: str) -> None:
    """Record the job copying the build."""
    build.job_id = job_id
    _save(resources.redis, resources.settings.collection_prefix, build)


def _job_running(redis: Redis, build: Build) -> bool:
    state = jobs.progress(redis, build.job_id) if build.job_id else None
    return state is not None and state["status"] == jobs.RUNNING


def finish(resources: Resources,
           report: Callable[[str], None] = lambda line: None) -> SwapResult:
    """Swap the current build in once its job has ended; SwapRefused says why not."""
    redis, prefix = resources.redis, resources.settings.collection_prefix
    build = current(redis, prefix)
    if build is None or build.status not in (BUILDING, REFUSED):
        raise BuildError("no build to swap in: start one with `ingest reembed --model NAME`")
    if _job_running(redis, build):
        raise BuildError(f"build {build.build} is still copying: wait for its job {build.job_id}")
    try:
        result = swap_to(resources, build.target, report)
    except SwapRefused as exc:
        build.status = REFUSED
        build.report = json.dumps({"refused": str(exc),
                                   "check": exc.report.to_dict() if exc.report else None})
        _save(redis, prefix, build)
        raise
    build.status, build.report = SWAPPED, json.dumps(result.to_dict())
    _save(redis, prefix, build)
    return result


def _abandon(resources: Resources, build: Build) -> None:
    """Drop an unfinished build's collection, unless it is live or kept for rollback."""
    prefix = resources.settings.collection_prefix
    keep = {resources.target().collection, *(t.collection for t in previous(resources.redis, prefix))}
    if build.target.collection not in keep:
        changes.unfollow(resources.redis, build.source.collection, build.target.collection)
        resources.store.drop(build.target.collection)
        registry.drop(resources.redis, build.target.collection)
    build.status = ABANDONED
