"""Every hostile case through the real stack, in the stream lane and in a batch job with
good documents: each bad one fails alone with its reason, and the pools keep serving."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from pathlib import Path

import pytest

from ingest_tasks.lanes import batch
from ingest_tasks.lanes.tasks import STREAM_INGEST
from ingest_tasks.pipeline.sources import DocRef, discover, file_ref
from tests.hostile import files
from tests.hostile.files import MAIN, MiB
from tests.stack_fixtures import worker_pids

pytestmark = pytest.mark.integration

COMMITTED = "committed"
# file name -> what becomes of it: committed, or failed with this reason code
FILES = {
    "note.md": (b"# Harbour cranes\n\nA crane lifts containers off the ship at dawn.\n", COMMITTED),
    "page.html": (b"<h1>Kelp</h1><p>Giant kelp grows fast in cold water.</p>", COMMITTED),
    "report.docx": (lambda: files.zipped(files.docx_parts("Copper wire conducts well.")),
                    COMMITTED),
    "deep.html": (lambda: files.html_deep(10_000), COMMITTED),
    "unclosed.html": (lambda: files.html_unclosed(b"<a ", 200_000), COMMITTED),
    "bomb.docx": (lambda: files.docx_bomb(140), "zip-bomb"),
    "ratio.docx": (lambda: files.docx_bomb(20), "zip-bomb"),
    "liar.docx": (lambda: files.declaring(files.docx_bomb(20), MAIN, 10_000), "zip-bomb"),
    "deep.docx": (lambda: files.docx_deep(10_000), "corrupt"),
    "laughs.docx": (files.docx_laughs, "corrupt"),
    "big.html": (lambda: files.html_page(50 * MiB), "too-large"),
    "long.txt": (lambda: b"Ledger entry. " * 600_000, "too-large"),  # 8.4M characters
    "binary.txt": (lambda: files.random_bytes(64 * 1024), "corrupt"),
    "elf.md": (files.ELF, "corrupt"),
    "image.html": (files.PNG, "corrupt"),
    "latin1.md": (files.INVALID_UTF8[0], "encoding"),
    "bad\x1bname.md": (b"# A name with an escape in it\n", "doc-id"),
}


def crafted(folder: Path) -> dict[str, tuple[DocRef, str]]:
    """Messages no client sends: paths out of the roots, ids no document may have, inline
    content past its limit or no base64 at all. Name -> (reference, reason code)."""
    os.mkfifo(folder / "fifo.md")
    note = DocRef.inline("x", b"# Note\n\nA crafted note.\n", "note.md", 1)
    by_path = {"shadow": "/etc/shadow", "climb": f"{folder}/../../../../../etc/passwd",
               "relative": "etc/passwd", "nul": f"{folder}/a\x00.md", "fifo": f"{folder}/fifo.md"}
    cases = {name: (DocRef(f"crafted-{name}.md", path, 1), "source-outside-roots")
             for name, path in by_path.items()}
    cases["nul"] = (cases["nul"][0], "source")
    cases["fifo"] = (cases["fifo"][0], "source")
    for name, doc_id in {"climbing-id": "../escape.md", "absolute-id": "/etc/escape.md",
                         "empty-id": "", "long-id": "x" * 2000, "newline-id": "a\nb.md",
                         "surrogate-id": "lone-\ud800.md"}.items():
        cases[name] = (replace(note, doc_id=doc_id), "doc-id")
    big = base64.b64encode(b"# Big\n" + b"x" * 300_000).decode()
    cases["inline-too-large"] = (replace(note, doc_id="crafted-big.md", content=big), "too-large")
    cases["not-base64"] = (replace(note, doc_id="crafted-b64.md", content="<html>"), "source")
    return cases


def outcome(result: dict) -> str:
    """committed, or the failure's reason code."""
    return result["status"] if result["status"] != "failed" else result["reason"].split(":")[0]


def test_hostile_documents_fail_alone_and_the_pools_keep_serving(client, tmp_path):
    before = worker_pids()
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, (make, _) in FILES.items():
        (folder / name).write_bytes(make if isinstance(make, bytes) else make())
    (folder / "passwd.md").symlink_to("/etc/passwd")
    dense = tmp_path / "dense.html"  # seconds of html.parser: past a 1 s soft time limit
    dense.write_bytes(files.html_dense(2 * MiB))
    cases = crafted(tmp_path)

    # the bulk lane: the whole folder, good and bad, and the crafted references
    refs, _ = discover([folder])
    job = batch.start_job(refs + [ref for ref, _ in cases.values()], client.app)
    # the stream lane: files as the client sends them, crafted messages as they are
    streamed = {name: client.stream(file_ref(folder / name, f"stream/{name}")) for name in FILES}
    streamed |= {name: client.app.send_task(STREAM_INGEST, args=[ref.to_dict()])
                 for name, (ref, _) in cases.items()}
    streamed["slow"] = client.app.send_task(STREAM_INGEST, args=[file_ref(dense).to_dict()],
                                            soft_time_limit=1, time_limit=60)

    expected = {name: code for name, (_, code) in FILES.items()}
    expected |= {name: code for name, (_, code) in cases.items()} | {"slow": "time-limit"}
    got = {name: outcome(result.get(timeout=300)) for name, result in streamed.items()}
    assert got == expected
    assert "ran past its soft time limit of 1" in streamed["slow"].get()["reason"]

    summary = client.wait_job(job, timeout=600)["summary"]
    by_id = {doc["doc_id"]: outcome(doc) for doc in summary["documents"]}
    expected = {name: code for name, (_, code) in FILES.items()} | {"passwd.md": "source-outside-roots"}
    expected |= {ref.doc_id: code for ref, code in cases.values()}
    assert by_id == expected

    nodes = {node.split("@")[0] for reply in client.app.control.ping(timeout=5) for node in reply}
    assert nodes >= {"stream", "bulk"}
    assert worker_pids() == before  # no worker or pool process died or was replaced
