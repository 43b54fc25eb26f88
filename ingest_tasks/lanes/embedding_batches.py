"""The bulk lane on a Batch API (INGEST_BULK_EMBEDDING=batch, an api: model).

A group parses and chunks its documents as always, then, instead of embedding them,
stores them (state/embed_batches) and sends their chunks' texts as batches of the
service's Batch API; its task ends there, and the job waits without holding any worker
or message. The beat's poll task (every INGEST_BATCH_POLL_SECONDS) asks after each open
batch; once one ends, its vectors are committed through the same check-and-set as any
write, so a document edited or deleted meanwhile on the stream lane keeps its newer
version, and the group's outcomes are recorded in the job. The job ends when its chords
and its last batch have.

A batch that failed, expired or left requests unanswered is sent again for the documents
it did not answer, up to INGEST_BATCH_RETRIES times; then those documents get a failure
record saying why. Every step is stored before the next: a killed worker's group is sent
again by Celery and sends only what was not sent; a poll that died leaves the batch for
the next one (a commit done twice writes nothing the second time).
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ingest_tasks.core.errors import Busy, EmbeddingUnavailable
from ingest_tasks.core.keys import LOCK_KEY
from ingest_tasks.core.models import API_PREFIX
from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.pipeline import documents
from ingest_tasks.pipeline.chunk import Chunk, Place
from ingest_tasks.pipeline.commit import Prepared, commit_documents, same_content
from ingest_tasks.pipeline.embed.batch_api import (ENDED, BatchClient, InputFile, answers,
                                                   input_files)
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import embed_batches, jobs, locks, registry
from ingest_tasks.state.alias import Target
from ingest_tasks.state.embed_batches import Batch, Submission

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.pipeline.resources import Resources

log = logging.getLogger(__name__)


def batched(resources: Resources, model: str | None) -> bool:
    """True if the bulk lane embeds `model` (None: the live one's) through the service's
    Batch API; in online mode without looking the live model up."""
    return (resources.settings.bulk_embedding == "batch"
            and (model or resources.target().model).startswith(API_PREFIX))


def submit(refs: list[DocRef], resources: Resources, model: str | None, job_id: str, run: int,
           group: int) -> list[ProcessingResult]:
    """Send a group's documents that need vectors as batches; the outcomes of the others
    (committed now, refused, outranked...)."""
    redis, settings = resources.redis, resources.settings
    sub_id = embed_batches.submission_id(job_id, run, group)
    with _held(resources, sub_id, wait=settings.lock_lease_seconds):
        sub = embed_batches.load(redis, sub_id)
        if sub is None:
            sub = _new(refs, resources, model, job_id, run, group)
        if sub.batches:
            jobs.await_batch(redis, job_id, run, sub_id)
        _send(sub, resources)
    return [ProcessingResult.from_dict(r) for r in sub.results]


def _new(refs: list[DocRef], resources: Resources, model: str | None, job_id: str, run: int,
         group: int) -> Submission:
    """Parse and chunk the group; commit what needs no vectors; store the rest to be sent."""
    target = resources.target(model)
    results, ready, known = documents.prepare_group(refs, resources, target)
    same = [doc for doc in ready if same_content(known.get(doc.ref.doc_id), doc)]
    fresh = [doc for doc in ready if doc not in same]
    if same:  # their text is committed already: a new version or metadata needs no vectors
        results += commit_documents(same, resources.embedder(target.model), target, resources,
                                    known, bulk=True)
    sub = Submission(embed_batches.submission_id(job_id, run, group), job_id, run, group,
                     target.to_json(), model, results=[r.to_dict() for r in results])
    if fresh:  # else nothing waits: a redelivered copy does the group again
        sub.batches = _batches(dict(enumerate(fresh)), target.model, resources.settings)
        embed_batches.store(resources.redis, resources.settings.collection_prefix, sub,
                            [_doc_data(doc) for doc in fresh])
    return sub


def _batches(docs: Mapping[int, Prepared], model: str, settings: Settings,
             attempt: int = 1) -> list[Batch]:
    """The batches of documents (by their numbers in the submission), split by the file limits."""
    files = _files({n: doc.chunks for n, doc in docs.items()}, model, settings)
    return [Batch(sorted({int(cid.split("/")[0]) for cid in f.custom_ids}), attempt)
            for f in files]


def _files(docs: Mapping[int, Sequence[Chunk]], model: str, settings: Settings,
           limits: bool = True) -> list[InputFile]:
    """Input files of documents' chunks, asking the service for `model` (api:name's name)."""
    texts = {n: [chunk.text for chunk in chunks] for n, chunks in docs.items()}
    return input_files(texts, model.removeprefix(API_PREFIX), settings.embedding_api_batch,
                       settings.batch_max_requests if limits else sys.maxsize,
                       settings.batch_max_bytes if limits else sys.maxsize)


def _send(sub: Submission, resources: Resources) -> None:
    """Upload and start each batch of the submission not yet started, saving each step."""
    client = resources.batch_client
    for batch in sub.batches:
        if batch.batch_id or batch.ended:
            continue
        if not batch.file_id:
            batch.file_id = client.upload(f"{sub.id}-{batch.attempt}.jsonl",
                                          _input(sub, batch, resources))
            embed_batches.save(resources.redis, sub)
        made = client.create(batch.file_id, {"job": sub.job_id, "group": str(sub.group)})
        batch.batch_id, batch.status = made["id"], made["status"]
        embed_batches.save(resources.redis, sub)
        log.info("job %s group %s: batch %s of %d documents sent (try %d)", sub.job_id,
                 sub.group, batch.batch_id, len(batch.docs), batch.attempt)


def _input(sub: Submission, batch: Batch, resources: Resources) -> bytes:
    """The input file of one batch (its documents were chosen within the file limits)."""
    docs = embed_batches.documents(resources.redis, sub.id, batch.docs)
    chunks = {n: _prepared(docs[n]).chunks for n in batch.docs}
    (single,) = _files(chunks, Target.from_json(sub.target).model, resources.settings,
                       limits=False)
    return single.data


def poll(resources: Resources) -> Counter:
    """Ask after every open batch of this collection prefix; commit and record what ended.
    Counts of what it found: batches waiting; documents committed, retried, failed;
    submissions busy (another holds them) or unavailable (the service did not answer)."""
    counts: Counter = Counter()
    redis, prefix = resources.redis, resources.settings.collection_prefix
    for sub_id in embed_batches.open_ids(redis, prefix):
        try:
            with _held(resources, sub_id, wait=0.0):
                sub = embed_batches.load(redis, sub_id)
                if sub is not None:
                    counts += _poll_one(sub, resources)
        except Busy:
            counts["busy"] += 1  # its group is being sent, or another poll has it
        except EmbeddingUnavailable as exc:  # the next poll asks again
            log.warning("embedding batches of %s: %s", sub_id, exc)
            counts["unavailable"] += 1
    return counts


def _poll_one(sub: Submission, resources: Resources) -> Counter:
    """Commit each ended batch of a submission; close it when none is left."""
    counts: Counter = Counter()
    _send(sub, resources)
    client = resources.batch_client
    for batch in sub.open:
        found = client.get(batch.batch_id)
        batch.status = found["status"] if found else "lost"
        if found and batch.status not in ENDED:
            counts["waiting"] += 1
            continue
        counts += _ended(sub, batch, found, client, resources)
        batch.ended = True
        embed_batches.save(resources.redis, sub)
    if not sub.open:
        _close(sub, resources)
    elif any(not batch.batch_id for batch in sub.batches):
        _send(sub, resources)
    return counts


def _ended(sub: Submission, batch: Batch, found: dict | None, client: BatchClient,
           resources: Resources) -> Counter:
    """Commit the documents a batch answered; send the others again or fail them."""
    docs = {n: _prepared(data) for n, data in
            embed_batches.documents(resources.redis, sub.id, batch.docs).items()}
    target = Target.from_json(sub.target)
    vectors, why = _answered(found, client, resources.embedder(target.model).dim)
    done = {n: _doc_vectors(n, len(doc.chunks), vectors) for n, doc in docs.items()}
    answered = {n: rows for n, rows in done.items() if rows is not None}
    unanswered = [n for n in docs if n not in answered]
    reason = _reason(found, batch, why, unanswered)
    results = _commit(sub, [docs[n] for n in answered],
                      {docs[n].ref.doc_id: rows for n, rows in answered.items()}, resources)
    again = unanswered if batch.attempt <= resources.settings.batch_retries else []
    results += [ProcessingResult.failure(docs[n].ref.doc_id, docs[n].ref.source, reason)
                for n in unanswered if n not in again]
    if again:
        sub.batches += _batches({n: docs[n] for n in again}, target.model, resources.settings,
                                batch.attempt + 1)
        log.warning("job %s group %s: batch %s %s; %d documents sent again: %s", sub.job_id,
                    sub.group, batch.batch_id, batch.status, len(again), reason)
    jobs.record(resources.redis, sub.job_id, sub.run, f"{sub.group}/{batch.batch_id}", results)
    return Counter({"committed": len(answered), "retried": len(again),
                    "failed": len(unanswered) - len(again)})


def _answered(found: dict | None, client: BatchClient, dim: int,
              ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The vectors of a batch's answered requests, and why the others failed, by custom id."""
    vectors: dict[str, np.ndarray] = {}
    why: dict[str, str] = {}
    for name in ("output_file_id", "error_file_id"):
        if found and found.get(name):
            for custom_id, answer in answers(client.content(found[name]), dim):
                if isinstance(answer, str):
                    why[custom_id] = answer
                else:
                    vectors[custom_id] = answer
    return vectors, why


def _doc_vectors(number: int, chunks: int, vectors: dict[str, np.ndarray]) -> np.ndarray | None:
    """A document's chunk vectors, its requests' answers in order; None unless all came."""
    rows, part = [], 0
    while f"{number}/{part}" in vectors:
        rows.append(vectors[f"{number}/{part}"])
        part += 1
    joined = np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    return joined if len(joined) == chunks else None


def _reason(found: dict | None, batch: Batch, why: dict[str, str], unanswered: list[int]) -> str:
    """Why a batch left documents without vectors, in one line."""
    if found is None:
        return f"embedding-batch: the service knows no batch {batch.batch_id}"
    errors = ((found.get("errors") or {}).get("data") or [{}])[0].get("message", "")
    first = next((why[c] for c in why if int(c.split("/")[0]) in unanswered), errors)
    return f"embedding-batch: batch {batch.batch_id} {batch.status}: {first or 'no answer'}"


def _commit(sub: Submission, docs: list[Prepared], vectors: dict[str, np.ndarray],
            resources: Resources) -> list[ProcessingResult]:
    """Commit documents with their batch's vectors to the collection they were sent for;
    if a swap made another model's collection live meanwhile, ingest them online there."""
    if not docs:
        return []
    model = Target.from_json(sub.target).model

    def work(target: Target) -> list[ProcessingResult] | None:
        if target.model != model:
            return None
        known = registry.get_many(resources.redis, target.collection,
                                  [doc.ref.doc_id for doc in docs])
        return commit_documents(docs, resources.embedder(model), target, resources, known,
                                bulk=True, vectors=vectors)

    results = documents.on_live(resources, sub.model, work)
    if results is None:
        return documents.ingest_documents([doc.ref for doc in docs], resources, sub.model, bulk=True)
    return results


def _close(sub: Submission, resources: Resources) -> None:
    """Forget an ended submission; end its job if it was the job's last wait."""
    redis = resources.redis
    embed_batches.close(redis, resources.settings.collection_prefix, sub.id)
    jobs.batch_done(redis, sub.job_id, sub.run, sub.id, resources.settings.job_ttl_seconds)


def _held(resources: Resources, sub_id: str, wait: float):
    """The submission's lease: one sender or poller at a time."""
    return locks.held(resources.redis, [f"{LOCK_KEY}embed-batch:{sub_id}"],
                      resources.settings.lock_lease_seconds, wait,
                      f"the embedding batches of {sub_id}")


def _doc_data(doc: Prepared) -> dict:
    """A parsed document as stored while it waits."""
    return {"ref": doc.ref.to_dict(), "digest": doc.digest, "seconds": doc.seconds,
            "encoding": doc.encoding, "title": doc.title,
            "chunks": [[c.index, c.text, list(c.ids), c.place.metadata()] for c in doc.chunks]}


def _prepared(data: dict) -> Prepared:
    """Inverse of _doc_data."""
    chunks = [Chunk(index, text, tuple(ids), Place.from_metadata(place))
              for index, text, ids, place in map(_with_place, data["chunks"])]
    return Prepared(DocRef.from_dict(data["ref"]), chunks, data["digest"], data["seconds"],
                    data["encoding"], data.get("title", ""))


def _with_place(chunk: list) -> list:
    """A stored chunk with its place; one stored before chunks had places has none."""
    return chunk if len(chunk) == 4 else [*chunk, {}]
