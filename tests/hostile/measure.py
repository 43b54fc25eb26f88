"""What the big hostile cases cost a worker: seconds and peak memory of reading and
parsing one document, in a process of its own.

    .venv/bin/python -m tests.hostile.measure CASE [PATH]

makes the case's file at PATH (default: a temporary folder), then reads and parses it as
a worker does (pipeline.document_text), and prints one JSON object. The slow tests of
tests/hostile/test_costs.py run every case and check the figures.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.hostile import files
from tests.hostile.files import MiB

ROOT = Path(__file__).resolve().parents[2]

# case -> (file name, maker, settings that differ from the defaults)
CASES = {
    # the limits raised out of the way: what parsing 50 MB of HTML would cost
    "html-50mb": ("page.html", lambda: files.html_page(50 * MiB),
                  {"max_html_bytes": 64 * MiB, "max_text_chars": 10**9}),
    "html-page-4mb": ("page.html", lambda: files.html_page(4 * MiB - 1024), {}),
    "html-dense-4mb": ("dense.html", lambda: files.html_dense(4 * MiB - 1024), {}),
    "docx-120mb": ("long.docx", lambda: files.docx_long(112), {}),
}


def measured(case: str, folder: Path) -> dict:
    """Make the case's file in `folder`, then measure it in a process of its own."""
    name, make, _ = CASES[case]
    (folder / name).write_bytes(make())
    run = subprocess.run([sys.executable, "-m", "tests.hostile.measure", case, str(folder)],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(run.stdout)


def _peak_mb() -> float:
    """This process's peak resident memory, MB; VmHWM, since ru_maxrss may be the parent's
    (it survives the exec of a vforked child)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _measure(case: str, folder: Path) -> dict:
    """Read and parse the case's file as a worker would; seconds, peak RSS, outcome."""
    from ingest_tasks.core.errors import PermanentError
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.pipeline.documents import document_text
    from ingest_tasks.pipeline.sources import DocRef

    name, _, values = CASES[case]
    settings = Settings(source_roots=str(folder), **values)
    path = folder / name
    before, started = _peak_mb(), time.perf_counter()
    try:
        outcome = f"text of {len(document_text(DocRef(name, str(path)), settings).text):,} characters"
    except PermanentError as exc:
        outcome = exc.reason
    return {"case": case, "bytes": path.stat().st_size,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(_peak_mb()), "rss_before_mb": round(before), "outcome": outcome}


if __name__ == "__main__":
    given = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    if given is not None and (given / CASES[sys.argv[1]][0]).exists():
        print(json.dumps(_measure(sys.argv[1], given)))
    else:
        print(json.dumps(measured(sys.argv[1], given or Path(tempfile.mkdtemp()))))
