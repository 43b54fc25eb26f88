"""The bundled embedding server's Files and Batches endpoints, as OpenAI's Batch API has them.

    POST /v1/files                 multipart: file (JSONL), purpose=batch  -> a file object
    GET  /v1/files/{id}/content    the file's bytes (inputs, outputs and error files)
    POST /v1/batches               {input_file_id, endpoint: /v1/embeddings, completion_window}
    GET  /v1/batches/{id}          the batch: validating, in_progress, then completed (output
                                   and error files), expired or failed

A batch runs `delay` seconds after it was made (in_progress), then a thread of its own
answers its requests (finalizing) and writes its files. Faults for tests: the first `fail_first` batches fail (validation errors, no
output), the next `expire_first` expire with half their requests answered, and the first
`fail_requests` requests of all answered ones get an error line instead of vectors (a
partly failed batch). State lives in the process: a restarted server knows no batch (404).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from email.parser import BytesParser
from email.policy import HTTP

ENDPOINT = "/v1/embeddings"
MAX_REQUESTS = 50_000  # per input file, as OpenAI's Batch API allows


class BatchRefusal(ValueError):
    """A request the endpoints refuse: its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Faults:
    """What goes wrong, for tests: see the module's docstring."""

    delay: float = 0.0
    fail_first: int = 0
    expire_first: int = 0
    fail_requests: int = 0


@dataclass
class _Batch:
    record: dict
    lines: list[dict] = field(default_factory=list)
    fate: str = "completed"  # or expired, failed


class BatchService:
    """Files and batches of one server process; `embed(model, texts)` answers the requests,
    and returns the vectors and the tokens billed."""

    def __init__(self, embed: Callable[[str, list[str]], tuple[list[list[float]], int]],
                 faults: Faults) -> None:
        self._embed = embed
        self.faults = faults
        self.files: dict[str, dict] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.usage = {"batches": 0, "batch_requests": 0, "batch_texts": 0, "batch_tokens": 0}
        self._made = 0
        self._failed_requests = 0
        self._lock = threading.Lock()

    def upload(self, content_type: str, body: bytes) -> dict:
        """Store a multipart upload's file; its file object."""
        parts = _form(content_type, body)
        if "file" not in parts:
            raise BatchRefusal(400, "a multipart form with a 'file' part is needed")
        data, filename = parts["file"]
        purpose = parts.get("purpose", (b"batch", ""))[0].decode()
        with self._lock:
            return self._store(data, filename or "upload.jsonl", purpose)

    def content(self, file_id: str) -> bytes:
        """A file's bytes."""
        with self._lock:
            if file_id not in self.contents:
                raise BatchRefusal(404, f"no file {file_id}")
            return self.contents[file_id]

    def create(self, request: dict) -> dict:
        """A new batch over an uploaded input file; its batch object."""
        file_id, endpoint = request.get("input_file_id"), request.get("endpoint")
        if file_id not in self.contents:
            raise BatchRefusal(404, f"no file {file_id}")
        if endpoint != ENDPOINT:
            raise BatchRefusal(400, f"endpoint must be {ENDPOINT}, not {endpoint!r}")
        now = int(time.time())
        record = {"id": f"batch_{uuid.uuid4().hex[:16]}", "object": "batch", "endpoint": endpoint,
                  "errors": None, "input_file_id": file_id,
                  "completion_window": request.get("completion_window", "24h"),
                  "status": "validating", "output_file_id": None, "error_file_id": None,
                  "created_at": now, "expires_at": now + 86_400,
                  "request_counts": {"total": 0, "completed": 0, "failed": 0},
                  "metadata": request.get("metadata") or {}}
        with self._lock:
            self._made += 1
            fate = ("failed" if self._made <= self.faults.fail_first else
                    "expired" if self._made <= self.faults.fail_first + self.faults.expire_first
                    else "completed")
        batch = _Batch(record, fate=fate)
        try:
            batch.lines = _requests(self.contents[file_id])
        except BatchRefusal as exc:
            batch.fate, record["errors"] = "failed", _errors(str(exc))
        record["request_counts"]["total"] = len(batch.lines)
        if fate == "failed" and not record["errors"]:
            record["errors"] = _errors("injected failure")
        with self._lock:
            self.batches[record["id"]] = batch
            answer = json.loads(json.dumps(record))
            record.update(status="in_progress", in_progress_at=now)
        timer = threading.Timer(self.faults.delay, self._end, (batch,))
        timer.daemon = True
        timer.start()
        return answer

    def get(self, batch_id: str) -> dict:
        """A batch's object as it is now."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                raise BatchRefusal(404, f"no batch {batch_id}")
            return json.loads(json.dumps(batch.record))

    def _end(self, batch: _Batch) -> None:
        """Answer the batch's requests as its fate says, and write its output and error files."""
        record = batch.record
        if batch.fate == "failed":
            with self._lock:
                record.update(status="failed", failed_at=int(time.time()))
            return
        with self._lock:
            record["status"] = "finalizing"
        lines = batch.lines if batch.fate == "completed" else batch.lines[: len(batch.lines) // 2]
        output, errors = [], []
        for line in lines:  # one thread per batch: the counters are taken under the lock
            with self._lock:
                fail = self._failed_requests < self.faults.fail_requests
                self._failed_requests += fail
            if fail:
                errors.append(_error_line(line, 500, "server_error", "injected request failure"))
            else:
                output.append(self._answer(line))
        errors += [_error_line(line, None, "batch_expired", "the batch expired before this "
                               "request ran") for line in batch.lines[len(lines):]]
        with self._lock:
            record["request_counts"].update(completed=len(output), failed=len(errors))
            if output:
                record["output_file_id"] = self._store(_jsonl(output), "output.jsonl",
                                                       "batch_output")["id"]
            if errors:
                record["error_file_id"] = self._store(_jsonl(errors), "errors.jsonl",
                                                      "batch_output")["id"]
            record.update(status=batch.fate, **{f"{batch.fate}_at": int(time.time())})
            self.usage["batches"] += 1

    def _answer(self, line: dict) -> dict:
        """The output line of one request: its vectors, or its error."""
        body = line["body"]
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        try:
            vectors, tokens = self._embed(body["model"], texts)
        except BatchRefusal as exc:
            return _error_line(line, exc.status, "invalid_request", str(exc))
        with self._lock:
            self.usage["batch_requests"] += 1
            self.usage["batch_texts"] += len(texts)
            self.usage["batch_tokens"] += tokens
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        answer = {"object": "list", "model": body["model"], "data": data,
                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return {"id": f"batch_req_{uuid.uuid4().hex[:16]}", "custom_id": line["custom_id"],
                "response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": answer},
                "error": None}

    def _store(self, data: bytes, filename: str, purpose: str) -> dict:
        """Keep a file; its file object."""
        file: dict[str, Any] = {"id": f"file-{uuid.uuid4().hex[:16]}", "object": "file", "bytes": len(data),
                "created_at": int(time.time()), "filename": filename, "purpose": purpose}
        self.files[file["id"]], self.contents[file["id"]] = file, data
        return file


def _form(content_type: str, body: bytes) -> dict[str, tuple[bytes, str]]:
    """The parts of a multipart/form-data body: name -> (bytes, filename)."""
    if not content_type.startswith("multipart/form-data"):
        raise BatchRefusal(400, "the upload must be multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts[name] = (payload if isinstance(payload, bytes) else b"", part.get_filename() or "")
    return parts


def _requests(data: bytes) -> list[dict]:
    """The request lines of an input file, checked as the Batch API checks them."""
    lines, seen = [], set()
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            custom_id, body = line["custom_id"], line["body"]
            ok = line.get("method") == "POST" and line.get("url") == ENDPOINT and "input" in body
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise BatchRefusal(400, f"line {number}: not a POST {ENDPOINT} request line")
        if custom_id in seen:
            raise BatchRefusal(400, f"line {number}: custom_id {custom_id!r} twice")
        seen.add(custom_id)
        lines.append(line)
    if not lines or len(lines) > MAX_REQUESTS:
        raise BatchRefusal(400, f"{len(lines)} requests: a file holds 1 to {MAX_REQUESTS:,}")
    return lines


def _error_line(line: dict, status: int | None, code: str, message: str) -> dict:
    error = {"code": code, "message": message}
    response = None if status is None else {"status_code": status, "body": {"error": error}}
    return {"id": f"batch_req_{uuid.uuid4().hex[:16]}", "custom_id": line["custom_id"],
            "response": response, "error": error}


def _errors(message: str) -> dict:
    return {"object": "list", "data": [{"code": "invalid_request", "message": message}]}


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)
