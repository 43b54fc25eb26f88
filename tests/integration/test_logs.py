"""The workers' logs on the real stack: one line per document outcome, plain or JSON."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import replace

import pytest

from ingest_tasks.core.polling import poll_until
from ingest_tasks.pipeline.sources import DocRef

WORDS = "The lighthouse keeper trims the wick and logs the passing ships by night. "
BROKEN_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog"  # cut off after its first object
PLAIN = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\w+) (ingest\.outcome) (.*)")
PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def documents(folder):
    """A good and a broken document of names no other test uses; their doc ids."""
    tag = uuid.uuid4().hex[:8]
    good, bad = folder / f"keeper-{tag}.md", folder / f"broken-{tag}.pdf"
    good.write_text("# The keeper\n\n" + WORDS * 40)
    bad.write_bytes(BROKEN_PDF)
    return good, bad


def outcome_lines(log, doc_ids: set[str], count: int) -> dict[str, list[dict]]:
    """The plain outcome lines of these documents in a pool's log, once there are `count`."""
    found: dict[str, list[dict]] = {}

    def written() -> bool:
        found.clear()
        for line in log.read_text().splitlines():
            match = PLAIN.fullmatch(line)
            if match:
                fields = {k: json.loads(v) if v.startswith('"') else v
                          for k, v in PAIR.findall(match[4])}
                fields["level"] = match[2]
                if fields["doc_id"] in doc_ids:
                    found.setdefault(fields["doc_id"], []).append(fields)
        return sum(map(len, found.values())) >= count

    poll_until(written, 60, f"{count} outcome lines in {log.name}")
    return found


def check_pair(lines: dict[str, list[dict]], good: str, bad: str, lane: str, job_id: str,
               reason: str) -> None:
    [committed], [failed] = lines[good], lines[bad]
    assert {k: committed[k] for k in ("level", "job_id", "lane", "outcome")} == {
        "level": "INFO", "job_id": job_id, "lane": lane, "outcome": "committed"}
    assert int(committed["chunks"]) > 0 and "reason" not in committed
    assert {k: failed[k] for k in ("level", "job_id", "lane", "outcome", "reason")} == {
        "level": "WARNING", "job_id": job_id, "lane": lane, "outcome": "failed", "reason": reason}
    for line in (committed, failed):
        assert float(line["seconds"]) >= 0 and float(line["queued"]) >= 0 and line["task_id"]


def test_stream_outcomes_are_one_plain_line_each_in_the_stream_pools_log(client, stack, tmp_path):
    good, bad = documents(tmp_path)
    results = {r["doc_id"]: r for r in client.submit(good, bad).wait(timeout=120)}
    assert results[bad.name]["reason"].startswith("corrupt: ")

    lines = outcome_lines(stack.log_dir / "stream.log", {good.name, bad.name}, 2)
    check_pair(lines, good.name, bad.name, "stream", "-", results[bad.name]["reason"])


def test_bulk_outcomes_are_one_plain_line_each_with_their_job(client, stack, tmp_path):
    good, bad = documents(tmp_path)
    job_id = client.submit_batch([tmp_path])
    assert client.wait_job(job_id, timeout=120)["status"] == "finished"
    [reason] = [d["reason"] for d in client.job_status(job_id)["summary"]["documents"]
                if d["doc_id"] == bad.name]

    lines = outcome_lines(stack.log_dir / "bulk.log", {good.name, bad.name}, 2)
    check_pair(lines, good.name, bad.name, "bulk", job_id, reason)


@pytest.fixture
def json_pool(stack, tmp_path):
    """A stream pool with INGEST_LOG_FORMAT=json on a queue of its own; its queue and log."""
    queue = f"logs-json-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "json-pool.log"
    with open(log, "wb") as out:
        pool = subprocess.Popen(
            [sys.executable, "-m", "workers", "stream", "-Q", queue, "-n", f"{queue}@%h",
             "-l", "INFO"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "INGEST_LOG_FORMAT": "json"}, start_new_session=True)
    try:
        yield queue, log
    finally:
        pool.terminate()
        try:
            pool.wait(60)
        except subprocess.TimeoutExpired:
            pool.kill()
            pool.wait()


def test_a_json_pool_writes_every_line_as_json_with_the_outcome_fields(json_pool, client):
    from ingest_tasks.lanes.tasks import STREAM_INGEST

    queue, log = json_pool
    tag = uuid.uuid4().hex[:8]
    sent = {f"keeper-{tag}.md": (WORDS * 40).encode(), f"broken-{tag}.pdf": BROKEN_PDF}
    waits = []
    for doc_id, data in sent.items():
        ref = replace(DocRef.inline(doc_id, data, doc_id, time.time_ns()), submitted=time.time())
        waits.append(client.app.send_task(STREAM_INGEST, args=[ref.to_dict(), None], queue=queue))
    results = {r["doc_id"]: r for r in (w.get(timeout=180) for w in waits)}
    assert [r["status"] for r in results.values()] == ["committed", "failed"]

    def lines() -> list[str]:  # from its first line through logging on (a superuser's
        written = log.read_text().splitlines()  # warning comes before)
        return written[next((n for n, line in enumerate(written) if line.startswith("{")),
                            len(written)):]

    poll_until(lambda: sum(f'"doc_id": "{d}"' in line for line in lines() for d in sent) == 2,
               60, "the JSON pool's outcome lines")
    entries = [json.loads(line) for line in lines()]  # every one of them is JSON
    assert all({"timestamp", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"].startswith("celery.") for e in entries)  # Celery's own lines too
    outcomes = {e["doc_id"]: e for e in entries if e["logger"] == "ingest.outcome"}
    for doc_id, result in results.items():
        entry = outcomes[doc_id]
        assert entry["job_id"] is None and entry["lane"] == "stream"
        assert entry["outcome"] == result["status"]
        assert entry.get("reason") == (result["reason"] or None)
        assert entry["seconds"] >= 0 and entry["queued"] >= 0
        assert entry["message"].startswith(f"doc_id={doc_id} job_id=- lane=stream outcome=")
    assert outcomes[f"broken-{tag}.pdf"]["level"] == "WARNING"
