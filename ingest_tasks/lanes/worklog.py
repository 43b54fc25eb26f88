"""Operator logs of the workers: one line per document outcome, one per retry, plain or JSON.

A line of the `ingest` loggers carries its data as fields (`extra={"fields": ...}`) and
as its message, the same fields as key=value pairs. Plain text (the default) writes
`2026-12-01 08:50:01 INFO ingest.outcome doc_id=a.md job_id=- lane=stream ...` and
leaves Celery's own lines as Celery writes them. INGEST_LOG_FORMAT=json writes every
line of the worker, Celery's too, as one JSON object: timestamp, level, logger, process,
message and the fields, for a log shipper.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone

from celery import Task

from ingest_tasks.core.results import FAILED, ProcessingResult

PLAIN, JSON = "plain", "json"
LOGGER = "ingest"
outcome_log = logging.getLogger(LOGGER + ".outcome")
retry_log = logging.getLogger(LOGGER + ".retry")


def outcomes(results: list[ProcessingResult], lane: str, job_id: str | None, task_id: str | None,
             submitted: float, started: float) -> None:
    """Log one line per document result of a task started at `started`: failures at WARNING."""
    seconds = round(time.time() - started, 3)
    queued = {"queued": round(max(started - submitted, 0.0), 3)} if submitted else {}
    for result in results:
        fields = {"doc_id": result.doc_id, "job_id": job_id or None, "lane": lane,
                  "outcome": result.status, **({"reason": result.reason} if result.reason else {}),
                  "chunks": result.chunks, "seconds": seconds, **queued, "task_id": task_id}
        level = logging.WARNING if result.status == FAILED else logging.INFO
        log_fields(outcome_log, level, fields)


def retry(task: Task, error: Exception, countdown: float) -> None:
    """Log at WARNING why a task is tried again: its error, the try that failed, the wait."""
    log_fields(retry_log, logging.WARNING, {
        "task": task.name, "task_id": task.request.id,
        "attempt": task.request.retries + 1, "max_attempts": task.max_retries + 1,
        "countdown": countdown, "error": type(error).__name__,
        "reason": getattr(error, "reason", None) or str(error),
    })


def log_fields(logger: logging.Logger, level: int, fields: dict) -> None:
    """One line: the fields as its message and as the record's `fields`."""
    logger.log(level, key_values(fields), extra={"fields": fields})


def key_values(fields: dict) -> str:
    """The fields as key=value pairs (logfmt): None as -, a value with spaces or quotes quoted."""
    return " ".join(f"{name}={_value(value)}" for name, value in fields.items())


def _value(value) -> str:
    if value is None:
        return "-"
    text = str(value)
    plain = text and text != "-" and all(c.isprintable() and not c.isspace() and c not in '"=\\'
                                         for c in text)
    return text if plain else json.dumps(text)


class PlainFormatter(logging.Formatter):
    """`date time LEVEL logger message`: the line of the `ingest` loggers in plain mode."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%d %H:%M:%S")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC), level, logger, process, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; an exception's traceback is its `exc_info` string."""
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name,
            "process": record.processName, "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class _ByLogger(logging.Formatter):
    """Plain mode: the `ingest` loggers' lines in PlainFormatter, the others as before."""

    def __init__(self, ours: logging.Formatter, others: logging.Formatter | None):
        super().__init__()
        self.ours, self.others = ours, others or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        mine = record.name == LOGGER or record.name.startswith(LOGGER + ".")
        return (self.ours if mine else self.others).format(record)


def use_format(loggers: list[logging.Logger], log_format: str) -> None:
    """Give the handlers of these loggers (Celery's, once set up) the `log_format` lines.

    The `ingest` loggers log at INFO and up whatever the worker's level, so that every
    document outcome is written.
    """
    logging.getLogger(LOGGER).setLevel(logging.INFO)
    for logger in loggers:
        for handler in logger.handlers:
            handler.setFormatter(_formatter(log_format, handler.formatter))


def _formatter(log_format: str, before: logging.Formatter | None) -> logging.Formatter:
    if log_format == JSON:
        return JsonFormatter()
    return before if isinstance(before, _ByLogger) else _ByLogger(PlainFormatter(), before)
