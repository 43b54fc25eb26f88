"""The Batch API of an OpenAI-compatible embedding service: input files, batches, answers.

A bulk group's embedding requests go into JSONL input files (at most `max_requests` lines
and `max_bytes` each; a document's requests stay in one file), uploaded to /v1/files and
run as a batch of /v1/embeddings (/v1/batches). The service answers within its completion
window, at its batch price; a batch that ends has an output file (the answered requests)
and an error file (the others). A service that does not answer, or answers 429 or a 5xx,
raises EmbeddingUnavailable: the caller tries again later (a task's retry, the next poll).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import httpx
import numpy as np

from ingest_tasks.core.errors import EmbeddingUnavailable
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.embed.base import l2_normalize

ENDPOINT = "/v1/embeddings"
# A batch in one of these states will not change again
ENDED = frozenset({"completed", "expired", "failed", "cancelled"})


@dataclass(frozen=True)
class InputFile:
    """One input file's bytes and the custom ids of its requests."""

    data: bytes
    custom_ids: list[str]


def input_files(docs: Mapping[int, Sequence[str]], model: str, per_request: int,
                max_requests: int, max_bytes: int) -> list[InputFile]:
    """The input files of documents' texts (number -> its chunks' texts, in order).

    Request `n/p` holds texts p*per_request... of document n. A file closes before a
    document whose requests would take it past `max_requests` lines or `max_bytes`.
    """
    files: list[InputFile] = []
    lines: list[bytes] = []
    ids: list[str] = []
    for number, texts in docs.items():
        doc = {f"{number}/{part}": _line(f"{number}/{part}", model, texts[start : start + per_request])
               for part, start in enumerate(range(0, len(texts), per_request))}
        if lines and (len(lines) + len(doc) > max_requests
                      or sum(map(len, lines)) + sum(map(len, doc.values())) > max_bytes):
            files.append(InputFile(b"".join(lines), ids))
            lines, ids = [], []
        lines += doc.values()
        ids += doc
    if lines:
        files.append(InputFile(b"".join(lines), ids))
    return files


def _line(custom_id: str, model: str, texts: Sequence[str]) -> bytes:
    body = {"model": model, "input": list(texts)}
    request = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
    return json.dumps(request).encode() + b"\n"


def answers(data: bytes, dim: int) -> Iterator[tuple[str, np.ndarray | str]]:
    """(custom id, L2-normalised vectors) of each answered request of an output or error
    file, or (custom id, why it failed) of each failed one."""
    for raw in data.splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        response, error = line.get("response") or {}, line.get("error")
        body = response.get("body") or {}
        if response.get("status_code") == 200 and not error and "data" in body:
            rows = sorted(body["data"], key=lambda item: item["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
            if vectors.ndim == 2 and vectors.shape[1] == dim:
                yield line["custom_id"], l2_normalize(vectors)
            else:
                yield line["custom_id"], f"answer of shape {vectors.shape}, not (n, {dim})"
        else:
            why = error or body.get("error") or {"message": f"HTTP {response.get('status_code')}"}
            yield line["custom_id"], f"{why.get('code', 'error')}: {why.get('message', '')}"


class BatchClient:
    """Files and batches of the embedding service the settings name."""

    def __init__(self, settings: Settings) -> None:
        s = settings
        key = {"Authorization": f"Bearer {s.embedding_api_key}"} if s.embedding_api_key else {}
        self.url = s.embedding_api_url
        self.window = s.batch_completion_window
        self._client = httpx.Client(base_url=s.embedding_api_url, headers=key,
                                    timeout=s.embedding_api_timeout)

    def upload(self, name: str, data: bytes) -> str:
        """Upload an input file; its file id."""
        files = {"file": (name, data, "application/jsonl")}
        return self._call("POST", "/v1/files", files=files, data={"purpose": "batch"})["id"]

    def create(self, file_id: str, metadata: dict[str, str]) -> dict:
        """Start a batch of /v1/embeddings over an uploaded file; its batch object."""
        body = {"input_file_id": file_id, "endpoint": ENDPOINT,
                "completion_window": self.window, "metadata": metadata}
        return self._call("POST", "/v1/batches", json=body)

    def get(self, batch_id: str) -> dict | None:
        """A batch's object; None if the service knows no such batch."""
        response = self._send("GET", f"/v1/batches/{batch_id}", missing_ok=True)
        return None if response.status_code == 404 else self._json(response)

    def content(self, file_id: str) -> bytes:
        """An output or error file's bytes."""
        return self._send("GET", f"/v1/files/{file_id}/content").content

    def _call(self, method: str, path: str, **kwargs) -> dict:
        return self._json(self._send(method, path, **kwargs))

    def _json(self, response: httpx.Response) -> dict:
        try:
            return response.json()
        except ValueError as exc:
            raise EmbeddingUnavailable(f"{response.url}: answer not JSON: {exc}") from exc

    def _send(self, method: str, path: str, missing_ok: bool = False, **kwargs) -> httpx.Response:
        """One request and its answer; EmbeddingUnavailable unless it succeeded (or was a 404
        with `missing_ok`)."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise EmbeddingUnavailable(f"{self.url}{path}: {type(exc).__name__}: {exc}") from exc
        if response.is_success or (missing_ok and response.status_code == 404):
            return response
        raise EmbeddingUnavailable(f"{self.url}{path}: HTTP {response.status_code}: "
                                   f"{response.text[:200]}")
