"""What `ingest cost` counts, each where it happens.

- Store writes: a counting reverse proxy in front of the Chroma server, one per lane
  (the lane's pool is pointed at it): write requests (POST add/upsert/update/delete),
  their records, and the bytes they write (ids, float32 vectors, documents, metadata).
- Embedding calls, texts and tokens: the embedding service's own counters (/usage),
  one service process per lane: those of /v1/embeddings (online), and apart from them
  the batches of its Batch API with their requests, texts and tokens.
- CPU-seconds: psutil, of a process and all its children, live or ended.
- Busy workers: the workers' task events (pools run with -E): each task's start and end.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from celery import Celery
    from celery.events.receiver import EventReceiver

WRITE_KINDS = frozenset({"add", "upsert", "update", "delete"})
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authenticate", "proxy-authorization", "host",
                         "content-length"})


def written(body: bytes) -> tuple[int, int]:
    """Records of a Chroma write request and the bytes they hold.

    Bytes are what a store keeps: ids and documents in UTF-8, each vector as float32 (sent
    as a list of numbers or as base64 of its bytes), metadata as compact JSON.
    """
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return 0, 0
    ids = request.get("ids") or []
    size = sum(len(i.encode()) for i in ids)
    for vector in request.get("embeddings") or []:
        size += len(base64.b64decode(vector)) if isinstance(vector, str) else 4 * len(vector)
    size += sum(len(text.encode()) for text in request.get("documents") or [] if text)
    size += sum(len(json.dumps(meta, separators=(",", ":")).encode())
                for meta in request.get("metadatas") or [] if meta)
    return len(ids), size


class CountingProxy(ThreadingHTTPServer):
    """Forwards every request to the Chroma server and counts its writes."""

    daemon_threads = True

    def __init__(self, host: str, port: int) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = (host, port)
        self._counts: Counter = Counter()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port the lane's pool is pointed at."""
        return self.server_address[1]

    def count(self, method: str, path: str, body: bytes) -> None:
        """Count one request; writes by kind, with their records and bytes."""
        kind = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            self._counts["requests"] += 1
            if method == "POST" and kind in WRITE_KINDS:
                records, size = written(body)
                self._counts.update({"write_requests": 1, f"write_{kind}": 1,
                                     "write_records": records, "write_bytes": size,
                                     "write_wire_bytes": len(body)})

    def counts(self) -> dict[str, int]:
        """The counters now."""
        with self._lock:
            return dict(self._counts)


class _Forward(BaseHTTPRequestHandler):
    """One client connection, relayed over one connection to the Chroma server."""

    server: CountingProxy
    protocol_version = "HTTP/1.1"
    _upstream: http.client.HTTPConnection | None = None

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.count(self.command, self.path, body)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        status, reply_headers, data = self._ask(headers, body)
        self.send_response(status)
        for name, value in reply_headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _relay

    def _ask(self, headers: dict, body: bytes, tries: int = 2):
        """Status, headers and body of the Chroma server's answer (reconnects once)."""
        for attempt in range(tries):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(*self.server.upstream, timeout=600)
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                answer = self._upstream.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            except (ConnectionError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt == tries - 1:
                    raise

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the counters are the record."""


@contextmanager
def counting_proxy(host: str, port: int) -> Iterator[CountingProxy]:
    """A counting proxy to the Chroma server at host:port, serving for the block."""
    proxy = CountingProxy(host, port)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


@dataclass(frozen=True)
class Service:
    """An embedding service process: where it answers and its pid."""

    url: str
    pid: int

    def counts(self) -> dict[str, int]:
        """Its counters: requests, throttled, failed, texts, tokens (online); batches,
        batch_requests, batch_texts, batch_tokens."""
        import httpx

        return httpx.get(f"{self.url}/usage", timeout=10).json()


@contextmanager
def embedding_service(folder: Path, model: str) -> Iterator[Service]:
    """`python -m ingest_tasks.testing.embed_server` in a process of its own, `model` loaded."""
    import httpx

    from ingest_tasks.testing.embed_server import serving

    with serving(folder) as url:
        httpx.post(f"{url}/v1/embeddings", json={"model": model, "input": ["warm"]},
                   timeout=120).raise_for_status()  # loads the model before anything is counted
        yield Service(url, httpx.get(f"{url}/usage", timeout=10).json()["pid"])


def cpu_seconds(pid: int | None) -> float:
    """CPU-seconds (user + system) of a process and its children, live or ended; 0 if none."""
    import psutil

    if pid is None:
        return 0.0
    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:  # ended since: its parent counts it once it is reaped
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


@dataclass(frozen=True)
class Span:
    """One run of a task on a worker process of a lane, by the task events' clocks."""

    lane: str
    start: float
    end: float


def peak(spans: list[Span]) -> int:
    """The most spans running at once (an end at the same instant as a start comes first)."""
    edges = sorted([(s.start, 1) for s in spans] + [(s.end, -1) for s in spans])
    running = best = 0
    for _, step in edges:
        running += step
        best = max(best, running)
    return best


def busy_seconds(spans: list[Span]) -> float:
    """Worker-seconds spent running tasks."""
    return sum(s.end - s.start for s in spans)


class TaskWatcher:
    """Every task's start and end on the pools, from their task events, in a thread.

    A task's lane is its worker's node name (stream@host, bulk@host). A retried task
    counts each of its runs; `ended` keeps when each task last succeeded or failed.
    """

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.spans: list[Span] = []
        self.ended: dict[str, float] = {}
        self._open: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._receiver: EventReceiver | None = None
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=5)

    def since(self, moment: float) -> list[Span]:
        """The spans that started at or after `moment` (time.time())."""
        with self._lock:
            return [span for span in self.spans if span.start >= moment]

    def _watch(self) -> None:
        ends = ("task-succeeded", "task-failed", "task-retried", "task-rejected", "task-revoked")
        with self.app.connection_for_read() as conn:
            self._receiver = receiver = self.app.events.Receiver(
                conn, handlers={"task-started": self._started, **dict.fromkeys(ends, self._end)})
            receiver.capture(limit=None, timeout=None, wakeup=False)

    def _started(self, event: dict) -> None:
        with self._lock:
            self._open[event["uuid"]] = (event["hostname"].split("@")[0], event["timestamp"])

    def _end(self, event: dict) -> None:
        with self._lock:
            started = self._open.pop(event["uuid"], None)
            if started is not None:
                self.spans.append(Span(started[0], started[1], event["timestamp"]))
            if event["type"] in ("task-succeeded", "task-failed"):
                self.ended[event["uuid"]] = event["timestamp"]
