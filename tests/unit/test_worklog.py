"""The workers' operator log lines, plain and JSON, written through real logging handlers."""

import io
import json
import logging
import re
import sys
import time
from datetime import datetime

import pytest
from pydantic import ValidationError

from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes import worklog
from workers import pools


@pytest.fixture
def handler():
    """A handler of the `ingest` loggers writing to a string, formatted as Celery would."""
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("[celery] %(levelname)s %(message)s"))
    logger = logging.getLogger(worklog.LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def written(handler) -> list[str]:
    return handler.stream.getvalue().splitlines()


def celery_record(exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("celery.worker.consumer", logging.ERROR, __file__, 1,
                             "Task %s raised", ("ingest.stream.ingest",), exc_info)


def test_plain_is_one_key_value_line_per_outcome_and_leaves_celery_lines_alone(handler):
    worklog.use_format([logging.getLogger(worklog.LOGGER)], worklog.PLAIN)
    worklog.use_format([logging.getLogger(worklog.LOGGER)], worklog.PLAIN)  # Celery calls twice
    now = time.time()
    worklog.outcomes([
        ProcessingResult("a.md", "/docs/a.md", "committed", chunks=3),
        ProcessingResult.failure("b c.pdf", "/docs/b c.pdf", 'corrupt: not a "PDF"\nat all'),
    ], "stream", None, "task-1", submitted=now - 1.0, started=now - 0.4)

    committed, failed = written(handler)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO ingest\.outcome doc_id=a\.md "
                        r"job_id=- lane=stream outcome=committed chunks=3 seconds=0\.4\d* "
                        r"queued=0\.6\d* task_id=task-1", committed), committed
    assert " WARNING ingest.outcome doc_id=\"b c.pdf\" job_id=- lane=stream outcome=failed " \
           "reason=\"corrupt: not a \\\"PDF\\\"\\nat all\" chunks=0 " in failed
    assert handler.format(celery_record()) == "[celery] ERROR Task ingest.stream.ingest raised"


def test_json_is_one_object_per_line_with_the_fields(handler):
    worklog.use_format([logging.getLogger(worklog.LOGGER)], worklog.JSON)
    worklog.outcomes([ProcessingResult("a.md", "/docs/a.md", "unchanged", chunks=2)],
                     "bulk", "job-7", "task-2", submitted=0.0, started=time.time())

    [line] = written(handler)
    entry = json.loads(line)
    assert datetime.fromisoformat(entry.pop("timestamp")).tzinfo is not None
    seconds = entry.pop("seconds")
    assert 0 <= seconds < 5
    assert entry == {
        "level": "INFO", "logger": "ingest.outcome", "process": "MainProcess",
        "message": f"doc_id=a.md job_id=job-7 lane=bulk outcome=unchanged chunks=2 "
                   f"seconds={seconds} task_id=task-2",
        "doc_id": "a.md", "job_id": "job-7", "lane": "bulk", "outcome": "unchanged",
        "chunks": 2, "task_id": "task-2",
    }


def test_json_carries_other_loggers_lines_and_their_tracebacks(handler):
    worklog.use_format([logging.getLogger(worklog.LOGGER)], worklog.JSON)
    try:
        1 / 0
    except ZeroDivisionError:
        line = handler.format(celery_record(sys.exc_info()))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["logger"] == "celery.worker.consumer" and entry["level"] == "ERROR"
    assert entry["message"] == "Task ingest.stream.ingest raised"
    assert entry["exc_info"].startswith("Traceback (most recent call last):")
    assert entry["exc_info"].endswith("ZeroDivisionError: division by zero")


def test_log_format_is_plain_or_json_and_a_json_pool_prints_no_banner():
    assert Settings().log_format == "plain"
    with pytest.raises(ValidationError, match="log_format"):
        Settings(log_format="xml")
    assert not pools(Settings())["stream"].quiet
    assert all(pool.quiet for pool in pools(Settings(log_format="json")).values())
