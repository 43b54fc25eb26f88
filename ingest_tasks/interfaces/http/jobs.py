"""Batch jobs: many documents as paths under the source roots or as a multipart upload
(stored where the bulk workers read them); a job's progress, summary and per-document
results, a page at a time; resume."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, Field, field_validator

from ingest_tasks.core.results import STATUSES
from ingest_tasks.interfaces.http import uploads
from ingest_tasks.interfaces.http.auth import Reader, Writer
from ingest_tasks.interfaces.http.context import Client, Config
from ingest_tasks.interfaces.http.documents import Accepted, Metadata, parse_metadata
from ingest_tasks.interfaces.http.errors import RESPONSES

MAX_CURSOR = 2**64 - 1  # Redis's cursors are unsigned 64-bit numbers
router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=RESPONSES)


class JobIn(BaseModel):
    """Files and folders the bulk workers can read (under their source roots)."""

    paths: list[str] = Field(min_length=1, max_length=10_000)
    metadata: Metadata | None = Field(None, description="given to every document of the job")
    model: str | None = Field(None, description="embed into this model's collection")

    @field_validator("paths")
    @classmethod
    def _usable(cls, paths: list[str]) -> list[str]:
        for path in paths:
            parts = path.encode("utf-8", "surrogatepass").split(b"/")
            if not path or "\x00" in path or len(path) > 4096 or max(map(len, parts)) > 255:
                raise ValueError(f"not a usable path: {path[:100]!r}")
        return paths


def _accepted(job_id: str) -> Accepted:
    return Accepted(lane="bulk", job_id=job_id, status_url=f"/v1/jobs/{job_id}")


@router.post("", summary="Start a batch job over paths", status_code=202, response_model=Accepted)
def start_job(body: JobIn, ingest: Client, _: Writer) -> Accepted:
    """Answers once every group is sent (backpressure may hold it while the bulk queue is full)."""
    paths: list[str | Path] = list(body.paths)
    return _accepted(ingest.submit_batch(paths, model=body.model, metadata=body.metadata))


@router.post("/upload", summary="Start a batch job over uploaded files", status_code=202,
             response_model=Accepted)
def upload_job(files: Annotated[list[UploadFile], File(description="the documents")],
               ingest: Client, config: Config, _: Writer,
               metadata: Annotated[str | None, Form(description="a JSON object")] = None) -> Accepted:
    """The files are stored under INGEST_UPLOADS_DIR and sent by reference, never in a message."""
    if len(files) > config.api_max_files:
        raise HTTPException(413, f"{len(files)} files is over INGEST_API_MAX_FILES "
                                 f"({config.api_max_files})")
    folder = uploads.new_folder(config.uploads)
    try:
        uploads.store(files, folder, config.max_document_bytes)
        job_id = ingest.submit_batch([folder], metadata=parse_metadata(metadata))
    except BaseException:
        uploads.discard(folder)
        raise
    return _accepted(job_id)


@router.get("", summary="The newest jobs")
def recent(ingest: Client, _: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[dict]:
    """Their progress, newest first."""
    return ingest.recent_jobs(limit)


@router.get("/{job_id}", summary="A job's progress, and its summary once it has ended",
            responses={404: {"description": "no such job"}})
def status(job_id: str, ingest: Client, _: Reader) -> dict:
    """Counters, rate and ETA; the summary's counts and failures by reason once finished
    (its per-document results: /v1/jobs/{job_id}/documents)."""
    state = ingest.job_status(job_id)
    if state is None:
        raise HTTPException(404, f"unknown job {job_id}")
    if state.get("summary"):
        state["summary"] = {k: v for k, v in state["summary"].items() if k != "documents"}
    return state


@router.get("/{job_id}/documents", summary="A page of a job's per-document results",
            responses={404: {"description": "no such job"}})
def documents(job_id: str, ingest: Client, _: Reader,
              cursor: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              status: Annotated[str | None, Query(description=" | ".join(STATUSES))] = None) -> dict:
    """The results recorded so far; pass `next_cursor` back for the next page (0: none)."""
    if status is not None and status not in STATUSES:
        raise HTTPException(422, f"status is one of {', '.join(STATUSES)}")
    try:
        return ingest.job_documents(job_id, cursor, limit, status)
    except KeyError:
        raise HTTPException(404, f"unknown job {job_id}") from None


@router.post("/{job_id}/resume", summary="Run a job again; what it committed is skipped",
             status_code=202, response_model=Accepted, responses={404: {"description": "no such job"}})
def resume(job_id: str, ingest: Client, _: Writer) -> Accepted:
    """Documents it already committed at the same version are skipped."""
    try:
        return _accepted(ingest.resume(job_id))
    except KeyError:
        raise HTTPException(404, f"unknown job {job_id}") from None
