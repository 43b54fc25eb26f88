"""Grouping documents into batch tasks, and the job summary."""

from ingest_tasks.core.results import ProcessingResult, summarize
from ingest_tasks.lanes.batch import group_refs
from ingest_tasks.pipeline.sources import DocRef


def refs(*sizes):
    return [DocRef(f"d{i}", f"/x/d{i}", 1, size) for i, size in enumerate(sizes)]


def test_groups_are_bounded_by_count():
    groups = group_refs(refs(*[1] * 10), max_docs=4, max_bytes=100)
    assert [len(g) for g in groups] == [4, 4, 2]


def test_groups_are_bounded_by_bytes_but_never_empty():
    groups = group_refs(refs(60, 60, 200, 30), max_docs=10, max_bytes=100)
    assert [[r.doc_id for r in g] for g in groups] == [["d2"], ["d0"], ["d1", "d3"]]


def test_grouping_keeps_every_document_once_largest_first():
    docs = refs(*range(1, 50))
    groups = group_refs(docs, max_docs=7, max_bytes=90)
    flat = [r for g in groups for r in g]
    assert sorted(flat, key=lambda r: r.doc_id) == sorted(docs, key=lambda r: r.doc_id)
    assert [r.size for r in flat] == sorted((r.size for r in docs), reverse=True)


def test_summary_counts_outcomes_and_reasons():
    results = [
        ProcessingResult("a", "/a", "committed", chunks=3, tokens=300),
        ProcessingResult.failure("b", "/b", "encrypted: PDF is encrypted"),
        ProcessingResult.failure("c", "/c", "empty: zero-byte file"),
        ProcessingResult.failure("d", "/d", "empty: only whitespace"),
    ]
    summary = summarize("job1", results, started=100.0, finished=102.0)
    assert (summary["committed"], summary["failed"], summary["total"]) == (1, 3, 4)
    assert summary["failures_by_reason"] == {"encrypted": 1, "empty": 2}
    assert (summary["chunks"], summary["tokens"]) == (3, 300)
    assert summary["docs_per_second"] == 2.0
    assert [d["doc_id"] for d in summary["documents"]] == ["a", "b", "c", "d"]


def test_a_store_bound_job_gets_groups_as_large_as_allowed_but_four_per_bulk_process():
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.lanes.batch import group_bytes

    settings = Settings(group_max_bytes=256 * 1024, group_max_bytes_static=4 * 2**20,
                        bulk_concurrency=2)
    small, large = refs(*[100 * 1024] * 50), refs(*[2**20] * 100)  # 5 MB and 100 MB
    assert group_bytes(small, settings, static=False) == 256 * 1024
    assert group_bytes(small, settings, static=True) == 50 * 100 * 1024 // 8  # 4 per process
    assert group_bytes(large, settings, static=True) == 4 * 2**20  # the cap
    assert group_bytes(refs(1000), settings, static=True) == 256 * 1024  # never below the rest's
