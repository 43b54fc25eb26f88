"""A small OpenAI-compatible embedding service over the local models.

    python -m ingest_tasks.testing.embed_server --port 8100 [--rate R] [--fail-first N]
        [--model NAME=LOCAL ...]

POST /v1/embeddings embeds ``{"model": ..., "input": [texts]}``; GET /v1/models lists the
models: the local ones by their names, and each --model NAME=LOCAL, the local model LOCAL
served as NAME (a model of its own, as far as a client can tell), GET /health the request counters, GET /usage those, the texts and tokens (in the
model's tokenizer) of the requests answered and its pid. With --rate, requests past R a second
(bursts of up to one second's worth) get a 429 with Retry-After; with --fail-first, the
first N embedding requests get a 500, for tests. Models are loaded on their first request.
The Files and Batches endpoints of a Batch API are batch_service.py's (--batch-delay and its
faults).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ingest_tasks.pipeline.embed import available_models, get_embedder
from ingest_tasks.testing.batch_service import BatchRefusal, BatchService, Faults

log = logging.getLogger(__name__)


class Bucket:
    """An in-process token bucket of `rate` tokens a second holding at most `burst`; not locked."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one comes."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class EmbedServer(ThreadingHTTPServer):
    """The HTTP server, with its rate limit, injected failures and counters."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], rate: float = 0.0, fail_first: int = 0,
                 aliases: dict[str, str] | None = None, faults: Faults | None = None) -> None:
        super().__init__(address, Handler)
        # served name -> local model: the local ones as themselves, and the aliases
        self.models = {**{name: name for name in available_models()}, **(aliases or {})}
        self.batches = BatchService(self.batch_vectors, faults or Faults())
        self.bucket = Bucket(rate, max(1.0, rate)) if rate > 0 else None
        self.fail_first = fail_first
        self.counts = {"requests": 0, "throttled": 0, "failed": 0}
        self.usage = {"texts": 0, "tokens": 0}  # of the requests answered, as an API bills them
        self._lock = threading.Lock()

    def admit(self) -> tuple[int, float]:
        """Status (200, 429 or an injected 500) and Retry-After seconds of an embedding request."""
        with self._lock:
            self.counts["requests"] += 1
            wait = self.bucket.take() if self.bucket else 0.0
            if wait:
                self.counts["throttled"] += 1
                return 429, wait
            if self.counts["failed"] < self.fail_first:
                self.counts["failed"] += 1
                return 500, 0.0
            return 200, 0.0

    def batch_vectors(self, model: str, texts: list[str]) -> tuple[list[list[float]], int]:
        """The vectors of a batch's request and the tokens billed for them."""
        if model not in self.models:
            raise BatchRefusal(404, f"unknown model {model!r}")
        embedder = get_embedder(self.models[model])
        tokens = sum(len(embedder.tokenize(text)[0]) for text in texts)
        return embedder.embed(texts).tolist(), tokens

    def embedded(self, texts: list[str], embedder) -> None:
        """Count an answered request's texts and their tokens, as a hosted API bills them."""
        tokens = sum(len(embedder.tokenize(text)[0]) for text in texts)
        with self._lock:
            self.usage["texts"] += len(texts)
            self.usage["tokens"] += tokens


class Handler(BaseHTTPRequestHandler):
    """The routes of the service."""

    server: EmbedServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection

    def do_GET(self) -> None:
        """/health, /usage and /v1/models."""
        if self.path == "/health":
            self._send(200, {"status": "ok", **self.server.counts})
        elif self.path == "/usage":
            self._send(200, {**self.server.counts, **self.server.usage,
                             **self.server.batches.usage, "pid": os.getpid()})
        elif self.path == "/v1/models":
            models = [{"id": name, "object": "model"} for name in sorted(self.server.models)]
            self._send(200, {"object": "list", "data": models})
        elif self.path.startswith(("/v1/files/", "/v1/batches/")):
            self._batch_api(self._batch_get)
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        """/v1/embeddings, and the Batch API's /v1/files and /v1/batches."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/files":
            return self._batch_api(lambda: self.server.batches.upload(
                self.headers.get("Content-Type", ""), body))
        if self.path == "/v1/batches":
            return self._batch_api(lambda: self.server.batches.create(_object(body)))
        if self.path != "/v1/embeddings":
            return self._error(404, f"no route {self.path}")
        status, wait = self.server.admit()
        if status == 429:
            return self._error(429, "rate limit exceeded", {"Retry-After": str(math.ceil(wait))})
        if status == 500:
            return self._error(500, "injected failure")
        try:
            model, texts = _parse(body)
        except ValueError as exc:
            return self._error(400, str(exc))
        if model not in self.server.models:
            return self._error(404, f"unknown model {model!r}")
        try:
            embedder = get_embedder(self.server.models[model])
            vectors = embedder.embed(texts)
        except Exception as exc:  # the client is told, and retries
            log.exception("embedding failed")
            return self._error(500, f"embedding failed: {exc!r}")
        self.server.embedded(texts, embedder)
        data = [{"object": "embedding", "index": i, "embedding": row.tolist()}
                for i, row in enumerate(vectors)]
        self._send(200, {"object": "list", "model": model, "data": data})

    def _batch_get(self) -> dict | bytes:
        """GET /v1/files/{id}/content or /v1/batches/{id}."""
        service, parts = self.server.batches, self.path.strip("/").split("/")
        if parts[1] == "files" and len(parts) == 4 and parts[3] == "content":
            return service.content(parts[2])
        if parts[1] == "batches" and len(parts) == 3:
            return service.get(parts[2])
        raise BatchRefusal(404, f"no route {self.path}")

    def _batch_api(self, answer) -> None:
        """Send what a Batch API call answers: a JSON object, or a file's bytes."""
        try:
            payload = answer()
        except BatchRefusal as exc:
            return self._error(exc.status, str(exc))
        if isinstance(payload, dict):
            return self._send(200, payload)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "code": status}}, headers)

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Request lines go to the log, not straight to stderr."""
        log.info(format, *args)


def _object(body: bytes) -> dict:
    """A JSON object request body; BatchRefusal if it is none."""
    try:
        request = json.loads(body)
    except ValueError as exc:
        raise BatchRefusal(400, f"need a JSON object: {exc}") from exc
    if not isinstance(request, dict):
        raise BatchRefusal(400, "need a JSON object")
    return request


def _parse(body: bytes) -> tuple[str, list[str]]:
    """Model and texts of an embeddings request; ValueError naming what is wrong."""
    try:
        request = json.loads(body)
        model, texts = request["model"], request["input"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"need a JSON object with model and input: {exc}") from exc
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ValueError("input must be a string or a list of strings")
    return model, texts


@contextmanager
def serving(folder: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """This server in a process of its own with `options` (--rate, --fail-first, --model),
    logging into `folder`, for the block; yields its URL."""
    from ingest_tasks.testing.stacks import answering, free_port

    port = port or free_port()
    log_path = folder / f"embed-server-{port}.log"
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "ingest_tasks.testing.embed_server", "--port", str(port), *options]
    with log_path.open("wb") as log, answering(argv, f"{url}/health", f"the embedding server at "
                                               f"{url} (its log: {log_path})", stdout=log,
                                               stderr=subprocess.STDOUT):
        yield url


def _alias(text: str) -> tuple[str, str]:
    """NAME=LOCAL of --model: a name to serve a local model as; ArgumentTypeError if not."""
    name, _, local = text.partition("=")
    if not name or local not in available_models():
        raise argparse.ArgumentTypeError(f"{text!r}: need NAME=LOCAL, LOCAL one of "
                                         f"{', '.join(available_models())}")
    return name, local


def main(argv: list[str] | None = None) -> None:
    """Serve the local models until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s, then 429 (0: no limit)")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 500 to the first N")
    parser.add_argument("--model", action="append", default=[], type=_alias, metavar="NAME=LOCAL",
                        help="serve the local model LOCAL as NAME too (repeatable)")
    parser.add_argument("--batch-delay", type=float, default=0.0,
                        help="seconds a batch takes before it ends (default 0)")
    parser.add_argument("--batch-fail-first", type=int, default=0,
                        help="the first N batches fail, with no output")
    parser.add_argument("--batch-expire-first", type=int, default=0,
                        help="the next N batches expire, half their requests answered")
    parser.add_argument("--batch-fail-requests", type=int, default=0,
                        help="the first N batch requests get an error line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    faults = Faults(args.batch_delay, args.batch_fail_first, args.batch_expire_first,
                    args.batch_fail_requests)
    with EmbedServer((args.host, args.port), args.rate, args.fail_first, dict(args.model),
                     faults) as server:
        log.info("serving %s at http://%s:%d", ", ".join(sorted(server.models)), args.host, args.port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
