"""What the big hostile cases cost a worker, measured in a process of their own (slow:
scripts/hostile.sh runs them). The limits must keep the costliest document a worker takes
well within its time and memory limits, and refuse what would not be."""

from __future__ import annotations

import json

import pytest

from ingest_tasks.core.settings import Settings
from tests.hostile.measure import measured

pytestmark = pytest.mark.slow
DEFAULTS = Settings()
GiB = 1024


def report(figures: dict) -> dict:
    """Print the figures (pytest -s shows them) and return them."""
    print(json.dumps(figures))
    return figures


def test_parsing_50_mb_of_html_is_what_the_html_limit_refuses(tmp_path):
    figures = report(measured("html-50mb", tmp_path))
    assert figures["outcome"].startswith("text of")  # it parses, at a price:
    assert figures["peak_rss_mb"] - figures["rss_before_mb"] > 512  # ~1.1 GB measured
    assert figures["bytes"] > DEFAULTS.max_html_bytes  # hence the limit


@pytest.mark.parametrize("case", ["html-page-4mb", "html-dense-4mb"])
def test_the_largest_html_taken_stays_within_the_limits(tmp_path, case):
    figures = report(measured(case, tmp_path))
    assert figures["outcome"].startswith("text of")
    assert figures["seconds"] < DEFAULTS.document_time_limit / 2
    assert figures["peak_rss_mb"] < 1.5 * GiB  # dense markup: ~0.7 GB measured


def test_a_docx_just_under_the_unzip_limit_stays_within_the_limits(tmp_path):
    figures = report(measured("docx-120mb", tmp_path))
    assert figures["outcome"].startswith("too-large: ")  # its text is past INGEST_MAX_TEXT_CHARS
    assert "INGEST_MAX_TEXT_CHARS" in figures["outcome"]
    assert figures["seconds"] < DEFAULTS.document_time_limit / 2
    assert figures["peak_rss_mb"] < 2 * GiB
