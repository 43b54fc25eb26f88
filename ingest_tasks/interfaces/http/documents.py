"""Documents: submit one (JSON content or a file: it streams), delete one, and follow a
stream task. Many documents go through /v1/jobs."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from celery.exceptions import TimeoutError as CeleryTimeout
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ingest_tasks.core.errors import WaitTimeout
from ingest_tasks.core.keys import STREAM_QUEUE
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.interfaces.http import uploads
from ingest_tasks.interfaces.http.auth import Reader, Writer
from ingest_tasks.interfaces.http.context import Client, Config
from ingest_tasks.interfaces.http.errors import RESPONSES
from ingest_tasks.lanes.handles import JobHandle

router = APIRouter(prefix="/v1", tags=["documents"], responses=RESPONSES)

Metadata = dict[StrictStr, StrictStr | StrictInt | StrictFloat | StrictBool]
_METADATA: TypeAdapter[Metadata] = TypeAdapter(Metadata)


class DocumentIn(BaseModel):
    """One document as content: text, or bytes in base64; `name` tells its kind (note.md)."""

    doc_id: str = Field(min_length=1, description="the document's id in the index")
    content: str | None = Field(None, description="the document's text")
    content_base64: str | None = Field(None, description="or its bytes, base64 (a PDF, a .docx)")
    name: str | None = Field(None, description="a file name telling its kind; default doc_id")
    version: int | None = Field(None, ge=0, description="default: the submit-time clock")
    metadata: Metadata | None = Field(None, description="string, number and bool values")
    model: str | None = Field(None, description="embed into this model's collection")

    @model_validator(mode="after")
    def _one_content(self) -> DocumentIn:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give content or content_base64, not both")
        return self

    def data(self) -> bytes:
        """The document's bytes."""
        if self.content is not None:
            return self.content.encode("utf-8")
        try:
            return base64.b64decode(self.content_base64 or "", validate=True)
        except binascii.Error as exc:
            raise ValueError(f"content_base64 is not base64: {exc}") from None


class Accepted(BaseModel):
    """A submission taken: a stream task to follow, or a batch job."""

    lane: str
    doc_id: str | None = None
    task_id: str | None = None
    job_id: str | None = None
    status_url: str


def _stream_accepted(doc_id: str, task_id: str) -> Accepted:
    return Accepted(lane=STREAM_QUEUE, doc_id=doc_id, task_id=task_id,
                    status_url=f"/v1/tasks/{task_id}")


def _answer(ingest: IngestClient, accepted: Accepted, wait: bool, timeout: float) -> JSONResponse:
    """202 with what was taken; with `wait`, 200 with the task's outcome once it ends."""
    if wait and accepted.task_id:
        try:
            result = ingest.app.AsyncResult(accepted.task_id).get(timeout=timeout)
        except CeleryTimeout:
            raise WaitTimeout(f"no outcome within {timeout:.0f} s (INGEST_API_WAIT_SECONDS): "
                              f"follow it at {accepted.status_url}") from None
        return JSONResponse({**accepted.model_dump(exclude_none=True), "result": result})
    return JSONResponse(accepted.model_dump(exclude_none=True), status_code=202)


WaitQuery = Annotated[bool, Query(description="wait for the outcome (at most INGEST_API_WAIT_SECONDS)")]


@router.post("/documents", summary="Submit one document as content (stream lane)",
             status_code=202, response_model=Accepted,
             responses={200: {"description": "with ?wait=true: the outcome"}})
def submit_document(body: DocumentIn, ingest: Client, config: Config, _: Writer,
                    wait: WaitQuery = False) -> JSONResponse:
    """Stream one document given inline (at most INGEST_INLINE_MAX_BYTES)."""
    result = ingest.submit_content(body.doc_id, body.data(), body.name or body.doc_id,
                                   body.version, body.model, metadata=body.metadata)
    return _answer(ingest, _stream_accepted(body.doc_id, result.id), wait, config.api_wait_seconds)


@router.post("/documents/upload", summary="Submit one document as a file upload",
             status_code=202, response_model=Accepted,
             responses={200: {"description": "with ?wait=true: the outcome"}})
def upload_document(file: Annotated[UploadFile, File(description="the document")],
                    ingest: Client, config: Config, _: Writer,
                    doc_id: Annotated[str | None, Form(description="default: the file's name")] = None,
                    version: Annotated[int | None, Form(ge=0)] = None,
                    metadata: Annotated[str | None, Form(description="a JSON object")] = None,
                    wait: WaitQuery = False) -> JSONResponse:
    """Stream one uploaded file; one past INGEST_STREAM_MAX_BYTES becomes a batch job."""
    folder = uploads.new_folder(config.uploads)
    try:
        [path] = uploads.store([file], folder, config.max_document_bytes)
        handle = ingest.submit(path, doc_id=doc_id or path.name, version=version,
                               metadata=parse_metadata(metadata))
    except BaseException:
        uploads.discard(folder)
        raise
    if isinstance(handle, JobHandle):
        return _answer(ingest, Accepted(lane="bulk", job_id=handle.id,
                                        status_url=f"/v1/jobs/{handle.id}"), False, 0)
    return _answer(ingest, _stream_accepted(doc_id or path.name, handle.id), wait,
                   config.api_wait_seconds)


@router.delete("/documents/{doc_id:path}", summary="Delete one document (stream lane)",
               status_code=202, response_model=Accepted,
               responses={200: {"description": "with ?wait=true: the outcome"}})
def delete_document(doc_id: str, ingest: Client, config: Config, _: Writer,
                    version: Annotated[int | None, Query(ge=0)] = None, wait: WaitQuery = False) -> JSONResponse:
    """Remove a document from the index, leaving a tombstone (default: the clock's now)."""
    result = ingest.delete(doc_id, version)
    return _answer(ingest, _stream_accepted(doc_id, result.id), wait, config.api_wait_seconds)


@router.get("/tasks/{task_id}", summary="A stream task's state and outcome")
def task(task_id: str, ingest: Client, _: Reader) -> dict:
    """{"state": "pending"}, then {"state": "done", "result": ProcessingResult}."""
    return ingest.task_result(task_id)


def parse_metadata(raw: str | None) -> dict | None:
    """A form field's metadata: a JSON object, checked like the JSON body's."""
    if raw is None or not raw.strip():
        return None
    try:
        return _METADATA.validate_json(raw)
    except ValidationError as exc:
        raise ValueError(f"metadata must be a JSON object of string, number and bool values: "
                         f"{exc.errors()[0]['msg']}") from None
