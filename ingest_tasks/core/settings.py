"""One typed settings object, read from INGEST_* environment variables and an env file.

The file is the one INGEST_ENV_FILE names, else config/ingest.env of the current folder
if there is one; a variable set in the environment wins over the file.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest_tasks.core.models import BACKENDS, TokenizerSpec, check_model, served_name

DEFAULT_ENV_FILE = Path("config") / "ingest.env"


def env_file() -> Path | None:
    """The env file settings are read from: INGEST_ENV_FILE, else config/ingest.env if present."""
    named = os.environ.get("INGEST_ENV_FILE")
    if named:
        if not Path(named).is_file():
            raise ValueError(f"INGEST_ENV_FILE names {named}, which is not a file")
        return Path(named)
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None


REMEMBERED_ROOTS = "source-roots"  # in the state folder: one root a line
S3_SCHEME = "s3://"  # a source root, source or object in S3: s3://bucket/prefix


def remembered(state_dir: Path) -> list[str]:
    """The source roots (folders, s3:// prefixes) `ingest up --source-root` remembered in
    this state folder.

    Read again only when the file changes: workers ask once per document, and see a
    root added while they run.
    """
    path = state_dir / REMEMBERED_ROOTS
    try:
        stat = path.stat()
    except FileNotFoundError:
        return []
    return list(_roots_in(path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=8)
def _roots_in(path: Path, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    """The roots a remembered-roots file lists, as of that modification time and size."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return ()
    return tuple(line for line in lines if line.strip())


def _split_roots(text: str) -> list[str]:
    """INGEST_SOURCE_ROOTS's entries: split at os.pathsep, but not at the colon of s3://."""
    return [part.strip() for part in re.split(re.escape(os.pathsep) + "(?!//)", text)
            if part.strip()]


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "ingest-tasks"


def default_model_cache_dir() -> Path:
    """Where models made at first load are kept: $XDG_CACHE_HOME (or ~/.cache)/ingest-tasks/models."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ingest-tasks" / "models"


class Settings(BaseSettings):
    """Everything configurable; defaults run the whole stack on one machine."""

    # hide_input_in_errors: an error must not echo a password of a URL or an API key
    # extra="ignore": an env file may hold other programs' variables too
    model_config = SettingsConfigDict(env_prefix="INGEST_", frozen=True, hide_input_in_errors=True,
                                      extra="ignore")

    def __init__(self, **values: Any) -> None:
        values.setdefault("_env_file", env_file())
        super().__init__(**values)

    # Services. Redis URLs may carry a password (redis://:PASSWORD@host:6379/0) and TLS
    # (rediss://...?ssl_cert_reqs=required&ssl_ca_certs=/path/ca.pem, see _check_tls).
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = ""  # empty: redis_url
    result_backend: str = ""  # empty: redis_url
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    collection_prefix: str = "ingest"

    # Embedding and chunking
    embedding_model: str = "all-MiniLM-L6-v2"
    embed_batch: int = Field(4, ge=1)  # on CPU, small batches pad less (bench_batch.py)
    embed_threads: int = Field(1, ge=1)
    preload_models: str = ""  # comma-separated: loaded by each worker process at start, too
    # models made at first load (all-MiniLM-L6-v2-int8's graph), one file per source and runtime
    model_cache_dir: Path = Field(default_factory=default_model_cache_dir)
    chunk_tokens: int = Field(200, ge=16)
    chunk_overlap: int = Field(32, ge=0)
    chunk_snap_tokens: int = Field(16, ge=0)  # how far a chunk's edge moves to a boundary

    # Embedding service: a model named api:<model> is computed by an OpenAI-compatible server
    embedding_api_url: str = "http://127.0.0.1:8100"
    embedding_api_key: str = ""  # sent as a bearer token when set
    embedding_api_batch: int = Field(64, ge=1)  # texts per request
    embedding_api_timeout: float = Field(30.0, gt=0)  # seconds per request
    embedding_api_retries: int = Field(5, ge=0)  # after a 429, a 5xx or a connection error
    embedding_api_backoff: float = Field(0.5, ge=0)  # first wait between tries, then doubled
    embedding_api_rate: float = Field(0.0, ge=0)  # requests/s across the fleet, 0: no limit
    embedding_api_burst: int = Field(1, ge=1)  # requests the fleet may send at once after a pause
    # How the bulk lane embeds with an api: model: "online" (/v1/embeddings, as the stream lane)
    # or "batch" (the service's Batch API: files and batches, answered within the completion
    # window at the batch price; lanes/embedding_batches.py)
    bulk_embedding: Literal["online", "batch"] = "online"
    batch_completion_window: str = "24h"
    batch_max_requests: int = Field(50_000, ge=1)  # request lines per input file (OpenAI's limit)
    batch_max_bytes: int = Field(200 * 1024 * 1024, ge=1)  # bytes per input file (OpenAI's limit)
    batch_poll_seconds: float = Field(30.0, gt=0)  # how often the beat asks after open batches
    batch_retries: int = Field(3, ge=0)  # new batches for documents a batch did not answer
    # How an api:<name> model's text is cut into chunks (docs/embedding-services.md): a JSON
    # object of <name> -> tokenizer (chars:N, a local model's name, or a tokenizer.json path);
    # a name not in it: its local model's tokenizer if it is one, else embedding_api_tokenizer
    embedding_api_tokenizers: str = ""
    embedding_api_tokenizer: str = "chars:2000"
    # the context of a model cut by a tokenizer.json, special tokens included
    embedding_api_max_tokens: int = Field(512, ge=16)

    # Parsing limits: what one document may cost a worker (README, "Hostile input")
    max_document_bytes: int = Field(64 * 1024 * 1024, ge=1)
    # html.parser trees take up to ~250x dense markup in memory: 4 MiB stays under ~1 GB
    max_html_bytes: int = Field(4 * 1024 * 1024, ge=1)
    max_unzipped_bytes: int = Field(128 * 1024 * 1024, ge=1)  # a .docx's parts, unzipped
    max_zip_ratio: int = Field(100, ge=1)  # unzipped:zipped of any part past 1 MiB
    # text after parsing: ~11k MiniLM chunks, embedded well within the soft time limit
    max_text_chars: int = Field(8_000_000, ge=1)
    max_doc_id_bytes: int = Field(1024, ge=1)
    max_attachments: int = Field(100, ge=0)  # a mail's attachments taken as documents
    # A caller's metadata on a document (copied to every chunk): keys, and bytes of it as JSON
    metadata_max_keys: int = Field(32, ge=0)
    metadata_max_bytes: int = Field(4096, ge=2)
    # seconds to read, parse and chunk one document (0: none); below the task's soft limit,
    # so a bulk group's other documents go on
    document_time_limit: float = Field(300.0, ge=0)
    # Undeclared non-UTF-8 text is decoded as charset-normalizer detects it when its confidence
    # (language coherence x (1 - mess)) is at least this, else in the legacy encoding (e.g.
    # cp1252), else refused; HTML falls back to the legacy encoding, else windows-1252
    encoding_min_confidence: float = Field(0.1, ge=0, le=1)
    legacy_encoding: str = ""

    # Sources: the folders (and s3://bucket/prefix) workers may read documents from by path
    # (URI), os.pathsep-separated. Empty: none (only content sent inline); paths come in
    # messages, which prove no sender.
    source_roots: str = ""

    # Sources kept in sync (docs/sources.md): a JSON object of name -> {"uri": a folder or
    # s3://bucket/prefix, "prefix": doc id prefix, "schedule": a crontab for `ingest sync`}
    sources: str = ""
    s3_endpoint_url: str = ""  # an S3-compatible server (MinIO, moto); empty: AWS. Keys: AWS_*
    s3_region: str = "us-east-1"
    sync_lock_wait: float = Field(0.0, ge=0)  # a sync finding its source busy waits this, then refuses
    watch_debounce: float = Field(0.5, gt=0)  # seconds of quiet on a path before the watcher sends it
    # The beat runs the sources' schedules while it holds a lock in Redis (celery-redbeat); it
    # renews it at least every fifth of this, and one that died frees it after this many seconds
    beat_lock_timeout: int = Field(30, ge=5)

    # Hybrid routing: a submission this small streams, a larger one becomes a batch job
    stream_max_docs: int = Field(8, ge=1)
    stream_max_bytes: int = Field(2 * 1024 * 1024, ge=1)
    inline_max_bytes: int = Field(256 * 1024, ge=0)  # stream documents this small travel inline

    # Batch grouping and store writes
    group_max_docs: int = Field(64, ge=1)
    group_max_bytes: int = Field(256 * 1024, ge=1)  # big documents get groups of their own
    # Static models (wordllama) embed a group in no time: the store is their bottleneck,
    # and it writes large batches faster than small ones: their groups are as large as
    # this, but at least four per bulk process (lanes.batch.group_bytes)
    group_max_bytes_static: int = Field(4 * 1024 * 1024, ge=1)
    store_batch: int = Field(1024, ge=1)
    # A bulk write goes to the store in calls of this many vectors while the stream lane has
    # committed in the last yield_window seconds: the Chroma server applies one write at a
    # time, so a stream write waits for the call under way (tens of ms, not seconds)
    bulk_write_batch_streaming: int = Field(32, ge=1)
    bulk_writers: int = Field(1, ge=0)  # bulk writes to a collection at once (0: no limit)

    # Worker pools
    stream_concurrency: int = Field(1, ge=1)
    stream_prefetch: int = Field(1, ge=1)
    bulk_concurrency: int = Field(2, ge=1)
    bulk_prefetch: int = Field(4, ge=1)
    bulk_nice: int = Field(10, ge=0, le=19)
    max_memory_per_child_kb: int = Field(3_000_000, ge=1)

    # Backpressure: a job is sent in chords of (high - low) groups, each once the bulk
    # queue holds no more than the low-water mark (messages, one per group)
    bulk_queue_high_water: int = Field(48, ge=2)
    bulk_queue_low_water: int = Field(16, ge=1)
    # Celery rate limits per worker process, e.g. "30/m" (empty: none)
    stream_rate_limit: str = ""
    bulk_rate_limit: str = ""

    # Yielding to streaming: a bulk group waits while the stream lane's recent p95 latency
    # (its newest samples of the last yield_window seconds) is past its target
    yield_to_stream: bool = True
    stream_latency_target: float = Field(1.5, gt=0)  # seconds, submit -> searchable
    yield_window: float = Field(10.0, gt=0)
    yield_max_wait: float = Field(15.0, ge=0)  # a bulk group never waits longer

    # Blue-green re-embedding: builds, the swap and rollback (see reembed.py, swap.py)
    keep_previous: int = Field(1, ge=0)  # earlier live collections kept for rollback
    swap_catch_up: int = Field(2, ge=0)  # pause writers once this few changes are left to copy
    swap_pause_timeout: float = Field(30.0, gt=0)  # writers still busy after this: no swap
    swap_check_sample: int = Field(20, ge=0)  # documents in the self-retrieval check
    swap_min_retrieval: float = Field(0.8, ge=0, le=1)  # share of them found, or no swap

    # Reliability: every task must end well before the broker redelivers it
    visibility_timeout: int = Field(3600, ge=1)
    task_time_limit: int = Field(1800, ge=1)
    task_soft_time_limit: int = Field(1500, ge=1)
    # Commit locks, bulk writers' turns and places in a swap's gate are leases of this many
    # seconds, renewed while their holder lives: a holder that dies frees them within one
    # (at once for waiters on its machine). Below wait_share x the soft limit (validated).
    lock_lease_seconds: float = Field(10.0, gt=0)
    # A task waits for locks, turns and gates at most this share of its soft time limit
    # (counted from its start), then is retried: waiting never fails a document for time
    wait_share: float = Field(0.75, gt=0, lt=1)
    unacked_restore_interval: int = Field(10, ge=1)
    unacked_restore_throttle: int = Field(10, ge=1)  # scan every interval x throttle seconds
    # A transient failure (the Chroma server or the embedding service down) is retried with
    # backoff (waits drawn up to 1, 2, 4 ... 60 s) this long on average; then the document fails
    retry_for_seconds: float = Field(300.0, ge=0)
    # A producer keeps trying to send a task this long while the broker does not answer (a
    # Redis restart); then the submission raises
    publish_retry_seconds: float = Field(60.0, ge=0)
    job_ttl_seconds: int = Field(7 * 24 * 3600, ge=60)

    # Cost model: unit prices of `ingest cost`, US dollars. List prices as of mid-2025, written
    # from memory (this machine has no internet): check each page before relying on them.
    # OpenAI text-embedding-3-small: $0.02 per 1M input tokens (openai.com/api/pricing)
    price_embedding_per_mtok: float = Field(0.02, ge=0)
    # OpenAI Batch API: 50% off the same model, answers within 24 h
    # (platform.openai.com/docs/guides/batch); `ingest cost` applies it to the bulk lane only
    price_embedding_batch_discount: float = Field(0.5, ge=0, le=1)
    # AWS Fargate, Linux/x86, us-east-1: $0.04048 per vCPU-hour (aws.amazon.com/fargate/pricing)
    price_vcpu_hour: float = Field(0.04048, ge=0)
    # Chroma Cloud: $2.50 per GiB written (trychroma.com/pricing), no fee per request
    price_store_write_gib: float = Field(2.5, ge=0)
    price_store_write_request: float = Field(0.0, ge=0)  # for a store that bills each request

    # Worker logs: one line per document outcome and per retry; json: every line of the
    # worker (Celery's too) is one JSON object
    log_format: Literal["plain", "json"] = "plain"

    # HTTP API (`ingest serve`). Keys: comma-separated NAME:SCOPE:SHA256 entries, as
    # `ingest apikey NAME --scope SCOPE` prints them; scopes read < write < admin.
    api_host: str = "127.0.0.1"
    api_port: int = 8900
    api_keys: str = ""
    api_max_request_bytes: int = Field(64 * 1024 * 1024, ge=1)  # a request's body, uploads too
    api_max_files: int = Field(1000, ge=1)  # files in one multipart upload
    api_wait_seconds: float = Field(60.0, gt=0)  # longest ?wait=true on a stream submission
    # Uploads are stored here for the workers to read; the API remembers it as a source root
    # in the state folder unless it lies under one already. Empty: uploads/ in the state folder
    uploads_dir: str = ""

    # Local stack
    state_dir: Path = Field(default_factory=_default_state_dir)
    flower_port: int = 5555
    flower_basic_auth: str = "ingest:ingest"

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if not self.task_soft_time_limit < self.task_time_limit < self.visibility_timeout:
            raise ValueError("need task_soft_time_limit < task_time_limit < visibility_timeout")
        if self.lock_lease_seconds >= self.wait_share * self.task_soft_time_limit:
            raise ValueError("lock_lease_seconds must be below wait_share x task_soft_time_limit: "
                             "a dead holder's lease must lapse while a waiting task still waits")
        if self.document_time_limit >= self.task_soft_time_limit:
            raise ValueError("document_time_limit must be below task_soft_time_limit")
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        if self.bulk_queue_low_water >= self.bulk_queue_high_water:
            raise ValueError("bulk_queue_low_water must be below bulk_queue_high_water")
        for model in self.worker_models:
            check_model(model)  # ValueError naming the known models
        self._api_tokenizer_specs()  # ValueError naming the bad entry
        if any(not root.is_absolute() for root in self.roots):
            raise ValueError("source_roots must be absolute folders")
        if any(not root[len(S3_SCHEME):].partition("/")[0] for root in self.s3_roots):
            raise ValueError("source_roots: an S3 root is s3://bucket or s3://bucket/prefix")
        return self

    def _root_entries(self) -> list[str]:
        """INGEST_SOURCE_ROOTS's entries, then those remembered in the state folder."""
        return [*_split_roots(self.source_roots), *remembered(self.state_dir)]

    @property
    def roots(self) -> list[Path]:
        """The folders workers may read documents from (`~` expanded): INGEST_SOURCE_ROOTS,
        then those `ingest up --source-root` remembered in the state folder."""
        return list(dict.fromkeys(Path(entry).expanduser() for entry in self._root_entries()
                                  if not entry.startswith(S3_SCHEME)))

    @property
    def s3_roots(self) -> list[str]:
        """The S3 prefixes workers may read objects under (s3://bucket or s3://bucket/prefix,
        no trailing slash), from the same two places as the folders."""
        return list(dict.fromkeys(entry.rstrip("/")
                                  for entry in self._root_entries()
                                  if entry.startswith(S3_SCHEME)))

    @property
    def uploads(self) -> Path:
        """Where the HTTP API stores uploads for the workers (made a source root by it)."""
        return Path(self.uploads_dir).expanduser() if self.uploads_dir else self.state_dir / "uploads"

    @model_validator(mode="after")
    def _check_tls(self) -> Settings:
        # kombu would connect to a rediss:// broker without checking its certificate at all
        for name in ("redis_url", "broker_url", "result_backend"):
            url = getattr(self, name)
            if url.startswith("rediss://") and "ssl_cert_reqs" not in parse_qs(urlparse(url).query):
                raise ValueError(f"INGEST_{name.upper()}: a rediss:// URL must say how to check "
                                 "the server: ?ssl_cert_reqs=required (with &ssl_ca_certs=PATH "
                                 "for a private CA), or optional, or none")
        return self

    @property
    def worker_models(self) -> list[str]:
        """The models each worker process loads at start: the default, then any preloads."""
        extra = [name.strip() for name in self.preload_models.split(",") if name.strip()]
        return list(dict.fromkeys([self.embedding_model, *extra]))

    def api_tokenizer(self, model: str) -> TokenizerSpec:
        """The tokenizer that cuts the api: model `model`'s text into chunks."""
        name = served_name(model)
        named, default = self._api_tokenizer_specs()
        if name in named:
            return named[name]
        return TokenizerSpec(model=name) if name in BACKENDS else default

    def _api_tokenizer_specs(self) -> tuple[dict[str, TokenizerSpec], TokenizerSpec]:
        """INGEST_EMBEDDING_API_TOKENIZERS by served name, and the default tokenizer."""
        try:
            default = TokenizerSpec.parse(self.embedding_api_tokenizer)
        except ValueError as exc:
            raise ValueError(f"INGEST_EMBEDDING_API_TOKENIZER: {exc}") from None
        if not self.embedding_api_tokenizers.strip():
            return {}, default
        where = "INGEST_EMBEDDING_API_TOKENIZERS"
        try:
            entries = json.loads(self.embedding_api_tokenizers)
        except ValueError as exc:
            raise ValueError(f"{where} is not JSON: {exc}") from None
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise ValueError(f"{where} must be a JSON object of model name -> tokenizer string")
        named: dict[str, TokenizerSpec] = {}
        for name, spec in entries.items():
            try:
                named[served_name(name)] = TokenizerSpec.parse(spec)
            except ValueError as exc:
                raise ValueError(f"{where}, model {name!r}: {exc}") from None
        return named, default

    @property
    def broker(self) -> str:
        """The broker URL in force."""
        return self.broker_url or self.redis_url

    @property
    def backend(self) -> str:
        """The result backend URL in force."""
        return self.result_backend or self.redis_url

    @property
    def chroma_url(self) -> str:
        """Base URL of the Chroma server."""
        return f"http://{self.chroma_host}:{self.chroma_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
