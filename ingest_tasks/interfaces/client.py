"""The Python API for applications: submit (hybrid), stream, delete, batch and resume,
job status, search, and re-embedding: build, swap, rollback."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from ingest_tasks.bluegreen import reembed, swap
from ingest_tasks.core.errors import SourceError, TooLarge
from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.lanes import batch, rebuild, sending
from ingest_tasks.lanes.backpressure import queue_depth
from ingest_tasks.lanes.factory import create_app
from ingest_tasks.lanes.handles import JobHandle, StreamHandle
from ingest_tasks.pipeline import documents, s3
from ingest_tasks.pipeline.docids import check_doc_id
from ingest_tasks.pipeline.metadata import MetaValue, check_metadata
from ingest_tasks.pipeline.roots import check_submitted
from ingest_tasks.pipeline.sources import DocRef, discover, file_ref, is_remote
from ingest_tasks.state import alias, changes, embed_batches, jobs, latency, registry
from ingest_tasks.state.alias import Target
from ingest_tasks.state.clock import next_versions
from ingest_tasks.store.base import Hit, Where
from ingest_tasks.sync import overview, runner, watch
from ingest_tasks.sync.runner import SyncReport
from ingest_tasks.sync.sources import configured, resolve
from ingest_tasks.sync.tasks import SYNC

Metadata = Mapping[str, MetaValue]  # a caller's: see docs/metadata.md


class IngestClient:
    """Sends work to the two lanes and reads job state and the index."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.app = create_app(self.settings)  # its own broker, backend and resources
        self.resources = self.app.resources

    def submit(self, *paths: str | Path, doc_id: str | None = None, version: int | None = None,
               model: str | None = None, metadata: Metadata | None = None
               ) -> StreamHandle | JobHandle:
        """Hybrid: stream a small change, send a large upload to the bulk lane as a job.

        Small is at most INGEST_STREAM_MAX_DOCS documents and INGEST_STREAM_MAX_BYTES in
        all. `doc_id` and `version` name one file's id and version (default: its name
        and modification time). `metadata` is every document's, carried by each of its
        chunks (InvalidMetadata before anything is sent). Either way the caller gets a
        handle to wait on.
        """
        meta = self._metadata(metadata)
        if doc_id is not None or version is not None:
            if len(paths) != 1:
                raise ValueError("doc_id and version name one file: give exactly one path")
            if doc_id is not None:
                check_doc_id(doc_id, self.settings.max_doc_id_bytes)
            refs = [file_ref(paths[0], doc_id, version)]
        else:
            refs = _documents(paths)
        refs = [replace(ref, metadata=meta) for ref in refs]
        s = self.settings
        if len(refs) > s.stream_max_docs or sum(r.size for r in refs) > s.stream_max_bytes:
            self.check_sources(list(paths))
            return JobHandle(self, batch.start_job(refs, self.app, model=model,
                                                   sources=_absolute(paths), metadata=meta))
        # the rest travel inline: the workers need not read them
        self.check_sources([ref.source for ref in refs if ref.size > s.inline_max_bytes])
        return StreamHandle([self.stream(ref, model) for ref in refs])

    def submit_content(self, doc_id: str, data: bytes | str, name: str,
                       version: int | None = None, model: str | None = None,
                       metadata: Metadata | None = None):
        """Stream one document given as content; `name` tells its kind (note.md).

        The version defaults to the submit-time clock; `metadata` is carried by each chunk.
        Returns the task's AsyncResult.
        """
        check_doc_id(doc_id, self.settings.max_doc_id_bytes)
        meta = self._metadata(metadata)
        data = data.encode("utf-8") if isinstance(data, str) else data
        version = version if version is not None else next_versions(self.resources.redis)[0]
        ref = DocRef.inline(doc_id, data, name, version, meta)
        if ref.size > self.settings.inline_max_bytes:
            raise TooLarge(f"{ref.size} bytes is over the inline limit of "
                           f"{self.settings.inline_max_bytes}: submit a file instead")
        return self.stream(ref, model)

    def stream(self, ref: DocRef, model: str | None = None, metadata: Metadata | None = None):
        """Send one document to the stream lane, inline if small; returns its AsyncResult.

        `metadata`, if given, replaces the document's own; either is checked before sending.
        """
        meta = self._metadata(ref.metadata if metadata is None else metadata)
        return sending.stream(self.app, replace(ref, metadata=meta), model)

    def delete(self, doc_id: str, version: int | None = None, model: str | None = None):
        """Stream the removal of one document; returns the task's AsyncResult.

        The tombstone's version defaults to the submit-time clock, so it outranks every
        copy saved before.
        """
        check_doc_id(doc_id, self.settings.max_doc_id_bytes)
        version = version if version is not None else next_versions(self.resources.redis)[0]
        return sending.delete(self.app, doc_id, version, model)

    def delete_prefix(self, prefix: str, model: str | None = None) -> list:
        """Remove every document whose id starts with `prefix` (at least one character),
        each leaving a tombstone at the clock's version; the tasks' AsyncResults.

        A few go to the stream lane, more to the bulk lane in groups.
        """
        if not prefix:
            raise ValueError("an empty prefix names every document: give at least one character")
        redis, target = self.resources.redis, self.resources.target(model)
        doc_ids = sorted(registry.committed_ids(redis, target.collection, prefix))
        versions = next_versions(redis, len(doc_ids)) if doc_ids else range(0)
        return sending.delete_many(self.app, list(zip(doc_ids, versions)), model)

    def sync(self, source: str, *, dry_run: bool = False, wait: float | None = None,
             model: str | None = None,
             on_progress: Callable[[dict], None] | None = None) -> SyncReport:
        """Bring the index in line with a source: a folder, s3://bucket/prefix or the name of
        one of INGEST_SOURCES (see docs/sources.md).

        New and changed documents go as one batch job (`report.job_id`), tombstones for the
        vanished ones as tasks (`report.tasks`); unchanged ones are not read. `dry_run`
        sends nothing (`report.plan` says what would go). SyncBusy if another sync of the
        source runs past `wait` s; SourceOutsideRoots before anything is sent if the
        workers may not read the source.
        """
        found = resolve(self.settings, source)
        if not dry_run:
            self.check_sources([found.uri])
        return runner.sync(self.app, found, dry_run=dry_run, wait=wait, model=model,
                           on_progress=on_progress)

    def wait_tasks(self, task_ids: list[str], timeout: float | None = None) -> list[dict]:
        """The results of stream and tombstone tasks, once all are done."""
        return [self.app.AsyncResult(task_id).get(timeout=timeout) for task_id in task_ids]

    def submit_batch(self, sources: list[str | Path], job_id: str | None = None,
                     model: str | None = None,
                     on_progress: Callable[[dict], None] | None = None,
                     metadata: Metadata | None = None) -> str:
        """Send files and folders to the bulk lane as one job; returns the job id.

        Given the id of an earlier job, this runs it again: documents it already
        committed at the same version (and metadata) are skipped, so the run resumes where
        it stopped. `model` embeds into that model's collection instead of the configured
        one. `metadata` is every document's, kept with the job for `resume`. Returns once
        every group is sent: while the bulk queue is past its high-water mark, it waits,
        telling `on_progress` the job's state. A source outside the workers' source roots
        raises SourceOutsideRoots, bad metadata InvalidMetadata, before anything is sent.
        """
        meta = self._metadata(metadata)
        self.check_sources(sources)
        return batch.start_job(refs=_documents(sources), app=self.app,
                               job_id=job_id, model=model, sources=_absolute(sources),
                               on_progress=on_progress, metadata=meta)

    def check_sources(self, paths: list[str | Path]) -> None:
        """SourceOutsideRoots, saying what to run, if the workers may not read a path (or
        the objects under an s3:// prefix)."""
        for uri in (str(path) for path in paths if is_remote(str(path))):
            s3.check_prefix(uri, self.settings.s3_roots)
        check_submitted([Path(path) for path in paths if not is_remote(str(path))],
                        self.settings.roots)

    def _metadata(self, metadata: Mapping | None) -> dict[str, MetaValue]:
        """The caller's metadata checked against this client's limits ({} for None)."""
        return check_metadata({} if metadata is None else metadata, self.settings)

    def watch(self, folder: str | Path, debounce: float | None = None) -> None:
        """Follow a folder (or a configured folder source) until SIGINT or SIGTERM, sending its
        changes as they settle (see sync.watch); SourceOutsideRoots if the workers may not
        read it, SyncBusy if another watcher follows it."""
        source = resolve(self.settings, str(folder))
        self.check_sources([] if source.is_s3 else [source.uri])  # watch() refuses S3 sources
        watch.watch(self.app, source, debounce)

    def resume(self, job_id: str, on_progress: Callable[[dict], None] | None = None) -> str:
        """Run a job again over the sources, model and metadata it was given; returns its id."""
        state = jobs.progress(self.resources.redis, job_id)
        if state is None:
            raise KeyError(f"unknown job {job_id}")
        synced = [s.removeprefix(runner.JOB_SOURCE) for s in state["sources"]
                  if s.startswith(runner.JOB_SOURCE)]
        if synced:
            raise ValueError(f"job {job_id} was sent by a sync of {synced[0]}: run `ingest sync "
                             f"{synced[0]}`, which finishes a sync that was cut off")
        return self.submit_batch(state["sources"], job_id, state.get("model") or None, on_progress,
                                 metadata=state["metadata"])

    def job_status(self, job_id: str) -> dict | None:
        """The job's counters, with its summary once it has finished."""
        state = jobs.progress(self.resources.redis, job_id)
        if state is not None and state["status"] == jobs.FINISHED:
            state["summary"] = jobs.summary(self.resources.redis, job_id)
        return state

    def job_documents(self, job_id: str, cursor: int = 0, limit: int = 100,
                      status: str | None = None) -> dict:
        """A page of a job's per-document results, recorded so far, and the next page's
        cursor (0: the last page); with `status`, only those (e.g. "failed")."""
        if not 0 <= cursor < 2**64:
            raise ValueError(f"cursor {cursor} is not one a page gave: a next_cursor is 0 to 2**64-1")
        if jobs.progress(self.resources.redis, job_id) is None:
            raise KeyError(f"unknown job {job_id}")
        found, cursor = jobs.documents(self.resources.redis, job_id, cursor, limit, status)
        return {"job_id": job_id, "documents": found, "next_cursor": cursor}

    def task_result(self, task_id: str) -> dict:
        """A stream task's state, and its ProcessingResult once it has ended."""
        result = self.app.AsyncResult(task_id)
        state = result.state
        if state == "SUCCESS":
            return {"task_id": task_id, "state": "done", "result": result.result}
        if state in ("FAILURE", "REVOKED"):
            return {"task_id": task_id, "state": "error", "error": str(result.result)}
        return {"task_id": task_id, "state": "pending"}

    def index(self) -> dict:
        """The live collection and its model, the ones kept for rollback with the changes
        they are owed, the newest build with its copy job's progress, and the bulk groups
        waiting for a Batch API's answers (batch mode)."""
        redis, prefix = self.resources.redis, self.settings.collection_prefix
        live, fields = self.resources.target(), alias.alias_fields(redis, prefix)
        kept = [{"collection": t.collection, "model": t.model,
                 "owed": changes.owed(redis, t.collection)} for t in alias.previous(redis, prefix)]
        build = reembed.current(redis, prefix)
        job = self.job_status(build.job_id) if build and build.job_id else None
        if job:
            job.pop("summary", None)
        return {"live": {**fields, "collection": live.collection, "model": live.model},
                "previous": kept,
                "build": {**build.to_dict(), "owed": changes.owed(redis, build.target.collection)}
                if build else None,
                "build_job": job,
                "embedding_batches": embed_batches.in_flight(redis, prefix)}

    def lanes(self, window: float | None = None) -> list[dict]:
        """Each lane's queue depth and end-to-end latency p50/p95/p99 (over `window` s)."""
        return [{**latency.percentiles(self.resources.redis, lane, window),
                 "depth": queue_depth(self.app, lane)} for lane in (STREAM_QUEUE, BULK_QUEUE)]

    def readiness(self) -> dict[str, str]:
        """Each service's answer: "ok", or why not (Redis, the broker, the Chroma server)."""
        checks: dict[str, Callable[[], object]] = {
            "redis": lambda: self.resources.redis.ping(),
            "broker": self._broker_answers,
            "chroma": lambda: self.resources.store.heartbeat(),  # made here: it may be down
        }
        answers = {}
        for name, check in checks.items():
            try:
                check()
                answers[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure is an answer
                answers[name] = f"{type(exc).__name__}: {exc}"[:300]
        return answers

    def _broker_answers(self) -> None:
        """Connect to the broker once, and let the connection go."""
        with self.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)

    def recent_jobs(self, limit: int = 20) -> list[dict]:
        """The newest jobs' progress, newest first."""
        return jobs.recent(self.resources.redis, limit)

    def start_sync(self, name: str) -> str:
        """Send the sync of the configured source `name` to the sources pool, as its schedule
        would; the task's id. KeyError for a name INGEST_SOURCES does not configure."""
        if name not in configured(self.settings):
            raise KeyError(f"no configured source is named {name!r} (INGEST_SOURCES)")
        return self.app.send_task(SYNC, args=[name]).id

    def sources(self) -> list[dict]:
        """Each source, configured or synced before: its URI, last sync and last full sync
        (when, trigger, counts, seconds, job), next run (Unix times) and its watcher, if any."""
        return overview.sources(self.resources.redis, self.settings)

    def wait_job(self, job_id: str, on_progress: Callable[[dict], None] | None = None,
                 poll: float = 0.25, timeout: float | None = None) -> dict:
        """Poll the job until it ends, reporting progress; returns its final status."""

        def ended() -> dict | None:
            state = self.job_status(job_id)
            if state is None:
                raise KeyError(f"unknown job {job_id}")
            if on_progress:
                on_progress(state)
            return state if state["status"] != jobs.RUNNING else None

        return poll_until(ended, timeout, f"job {job_id} still running", poll)

    def search(self, text: str, k: int = 5, where: Where | None = None) -> list[Hit]:
        """The k chunks nearest to `text`, best first, in the live collection; with `where`,
        among those whose metadata passes it (Chroma's filters: see docs/metadata.md;
        InvalidWhere, a ValueError, for one outside them). Each hit carries its metadata."""
        return documents.search(text, self.resources, k, where=where)

    def live(self) -> Target:
        """The live collection and its model, read from the alias now: it changes at every swap."""
        return self.resources.target()

    def reembed(self, model: str, on_progress: Callable[[dict], None] | None = None):
        """Start re-embedding the live index with `model` into a new collection; the Build.

        Its copy is a batch job (`wait_job(build.job_id)`); `swap()` then makes it live.
        """
        return rebuild.start(self.app, model, on_progress)

    def swap(self, report: Callable[[str], None] = lambda line: None):
        """Check the current build, once copied, and make it live; SwapRefused says why not."""
        return reembed.finish(self.resources, report)

    def rollback(self, report: Callable[[str], None] = lambda line: None):
        """Make the previous live collection live again, caught up with every change since."""
        return swap.rollback(self.resources, report)


def _documents(paths) -> list[DocRef]:
    """The documents of files and folders; an error if there are none."""
    refs, _skipped = discover(paths)
    if not refs:
        raise SourceError("no documents to ingest in " + ", ".join(map(str, paths)))
    return refs


def _absolute(paths) -> list[str]:
    return [str(Path(path).resolve()) for path in paths]
