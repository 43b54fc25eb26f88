"""`ingest cost` without a stack: the scaled day, the counts of a write, the busy-worker
sweep, scaling to a day and the pricing arithmetic (tokens priced as they were sent,
online or through batches), and the report built from them."""

import argparse
import base64
import json
import random

import numpy as np
import pytest
from rich.console import Console

from ingest_tasks.core.settings import Settings
from ingest_tasks.cost import add_cost_parser, report
from ingest_tasks.cost.day import (
    HYBRID,
    STREAMING,
    plan_day,
    pool_sizes,
    scale_factor,
    upload_sizes,
    valid_files,
)
from ingest_tasks.cost.meters import Span, busy_seconds, peak, written
from ingest_tasks.cost.price import (
    BATCH_COUNTS,
    PRE_BATCH,
    Prices,
    dollars,
    embedding_price,
    per_day,
    price_run,
)

PRICES = Prices(embedding_per_mtok=0.02, embedding_batch_discount=0.5, vcpu_hour=0.04,
                store_write_gib=2.5, store_write_request=0.0)


def corpus(tmp_path, valid=5):
    """A corpus folder whose manifest names `valid` valid files and two others."""
    rows = ["file\texpected_kind\tnote"]
    rows += [f"v{i}.md\tvalid\t" for i in range(valid)]
    rows += ["bad.pdf\tmalformed\t", "zero.docx\tempty\t"]
    (tmp_path / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_only_the_files_the_manifest_calls_valid_are_documents(tmp_path):
    files = valid_files(corpus(tmp_path))
    assert [f.name for f in files] == [f"v{i}.md" for i in range(5)]


def test_a_scaled_day_is_nine_tenths_uploads_and_one_tenth_interleaved_singles(tmp_path):
    arrivals = plan_day(valid_files(corpus(tmp_path)), docs=100, spread=50)
    uploads = [a for a in arrivals if a.kind == "upload"]
    singles = [a for a in arrivals if a.kind == "single"]
    assert sum(len(a.docs) for a in uploads) == 90 and len(singles) == 10
    assert len(uploads) >= 2 and all(10 <= len(a.docs) <= 200 for a in uploads)
    assert all(len(a.docs) == 1 for a in singles)
    times = [a.at for a in arrivals]
    assert times == sorted(times) and 0 < times[0] and times[-1] < 50
    assert singles[0].at < uploads[-1].at and singles[-1].at > uploads[0].at  # interleaved


def test_documents_repeat_the_corpus_under_ids_of_their_own(tmp_path):
    files = valid_files(corpus(tmp_path))
    arrivals = plan_day(files, docs=23, spread=10)
    docs = [d for a in arrivals for d in a.docs]
    assert len(docs) == 23 and len({d.doc_id for d in docs}) == 23
    assert {d.path for d in docs} == set(files)  # a new round starts once every file is drawn
    assert plan_day(files, docs=23, spread=10) == arrivals  # the seed fixes the day


def test_uploads_are_tens_to_hundreds_and_carry_every_bulk_document():
    rng = random.Random(1)
    for bulk in (10, 36, 90, 900, 9000):
        sizes = upload_sizes(bulk, rng)
        assert sum(sizes) == bulk and all(10 <= s <= 209 for s in sizes)
    assert upload_sizes(9, rng) == [9]  # too few for the minimum: one upload
    assert len(upload_sizes(36, rng)) >= 2  # several, even in a small day


def test_both_modes_get_as_many_worker_processes():
    assert pool_sizes(STREAMING, stream=1, bulk=2) == {"stream": 3}
    assert pool_sizes(HYBRID, stream=1, bulk=2) == {"stream": 1, "bulk": 2}
    assert scale_factor(100) == 100 and scale_factor(1000) == 10


def test_a_write_counts_its_records_and_the_bytes_they_hold():
    vectors = np.ones((2, 4), dtype=np.float32)
    as_lists = {"ids": ["a", "bc"], "embeddings": vectors.tolist(), "documents": ["héllo", "x"],
                "metadatas": [{"k": 1}, None]}
    as_base64 = {**as_lists, "embeddings": [base64.b64encode(v.tobytes()).decode() for v in vectors]}
    expected = 3 + 2 * 16 + (6 + 1) + len('{"k":1}')
    assert written(json.dumps(as_lists).encode()) == (2, expected)
    assert written(json.dumps(as_base64).encode()) == (2, expected)
    assert written(json.dumps({"where": {"doc_id": "a"}}).encode()) == (0, 0)
    assert written(b"not json") == (0, 0)


def test_peak_and_busy_seconds_of_task_spans():
    spans = [Span("bulk", 0, 10), Span("bulk", 2, 4), Span("bulk", 3, 5), Span("bulk", 10, 12)]
    assert peak(spans) == 3  # at 3..4
    assert busy_seconds(spans) == 16
    assert peak([Span("stream", 0, 1), Span("stream", 1, 2)]) == 1  # back to back: one worker
    assert peak([]) == 0


def lane(tokens=0, calls=0, requests=0, size=0, cpu=0.0, busy=0.0, peak_busy=0, pool=0,
         batch_tokens=0, batches=0):
    return {"pool": pool, "embedding_calls": calls, "embedding_texts": calls,
            "embedding_tokens": tokens, "embedding_batches": batches,
            "embedding_batch_requests": batches, "embedding_batch_texts": batches,
            "embedding_batch_tokens": batch_tokens, "store_write_requests": requests,
            "store_write_records": requests, "store_write_bytes": size, "cpu_seconds": cpu,
            "busy_seconds": busy, "peak_busy": peak_busy}


def test_counts_scale_to_the_day_and_levels_stay_as_measured():
    day = per_day({"stream": lane(tokens=10, cpu=1.5, busy=2, peak_busy=3, pool=3,
                                  batch_tokens=20, batches=1)}, 100)
    assert day["stream"]["embedding_tokens"] == 1000 and day["stream"]["cpu_seconds"] == 150
    assert day["stream"]["embedding_batch_tokens"] == 2000
    assert day["stream"]["embedding_batches"] == 100
    assert day["stream"]["busy_seconds"] == 200
    assert day["stream"]["peak_busy"] == 3 and day["stream"]["pool"] == 3


def test_tokens_sent_through_batches_alone_get_the_batch_discount():
    assert embedding_price(2_000_000, 0, PRICES) == pytest.approx(0.04)
    assert embedding_price(0, 2_000_000, PRICES) == pytest.approx(0.02)
    assert embedding_price(1_000_000, 2_000_000, PRICES) == pytest.approx(0.02 + 0.02)


def test_dollars_of_a_day_by_item():
    day = {"stream": lane(tokens=1_000_000, requests=10, size=2**30, cpu=3600, peak_busy=1),
           "bulk": lane(batch_tokens=4_000_000, requests=2, size=2**30, cpu=7200, peak_busy=2)}
    money = dollars(day, Prices(0.02, 0.5, 0.04, 2.5, 0.01))
    assert money["embedding"] == pytest.approx(0.02 + 0.04)
    assert money["store_writes"] == pytest.approx(2 * 2.5 + 12 * 0.01)
    assert money["workers_cpu"] == pytest.approx(3 * 0.04)
    assert money["workers_provisioned"] == pytest.approx(3 * 24 * 0.04)
    assert money["total_cpu"] == pytest.approx(0.06 + 5.12 + 0.12)
    assert money["total_provisioned"] == pytest.approx(0.06 + 5.12 + 2.88)


def measured(bulk_embedding="batch"):
    """A run's counts: 10 documents, streaming all on one lane, hybrid on two, its bulk
    lane's 900 tokens sent in 2 batches or in 2 online calls."""
    streaming = {"stream": lane(1000, 20, 10, 2**20, 5.0, 30.0, 3, 3), "bulk": lane()}
    bulk = (lane(0, 0, 1, 7 * 2**17, 2.5, 20.0, 2, 2, batch_tokens=900, batches=2)
            if bulk_embedding == "batch" else lane(900, 2, 1, 7 * 2**17, 2.5, 20.0, 2, 2))
    hybrid = {"stream": lane(100, 1, 1, 2**17, 0.5, 2.0, 1, 1), "bulk": bulk}
    run = {"wall_seconds": 60.0, "statuses": {"committed": 10}, "pipeline_tokens": 1000,
           "pipeline_chunks": 20,
           "chroma_cpu_seconds": 1.0, "single_latency_seconds": {"median": 1, "max": 2},
           "upload_indexed_seconds": {"median": 30, "max": 40}, "bulk_yielded_seconds": 0.0}
    modes = {STREAMING: {**run, "lanes": streaming}, HYBRID: {**run, "lanes": hybrid}}
    for mode in modes.values():
        for counts in mode["lanes"].values():
            counts["embedding_service_cpu_seconds"] = 1.0
    return {"docs": 10, "spread": 5.0, "seed": 7, "model": "api:all-MiniLM-L6-v2",
            "bulk_embedding": bulk_embedding, "uploads": [9], "singles": 1, "modes": modes}


def test_a_run_is_priced_per_day_with_its_ratios():
    figures = price_run(measured(), PRICES)
    assert figures["scale_factor"] == 1000
    streaming, hybrid = figures["day"][STREAMING], figures["day"][HYBRID]
    assert streaming["totals"]["embedding_tokens"] == 1_000_000
    assert streaming["dollars"]["embedding"] == pytest.approx(0.02)
    assert hybrid["dollars"]["embedding"] == pytest.approx(0.002 + 0.009)  # batch tokens at half
    assert hybrid["totals"]["embedding_batch_tokens"] == 900_000
    assert hybrid["totals"]["embedding_batches"] == 2000
    assert streaming["totals"]["embedding_batch_tokens"] == 0
    assert streaming["totals"]["peak_busy"] == hybrid["totals"]["peak_busy"] == 3
    ratios = figures["ratio_streaming_to_hybrid"]
    assert ratios["embedding_calls"] == 20.0  # hybrid's one online call is its single's
    assert ratios["store_write_requests"] == 5.0 and ratios["usd_workers_provisioned"] == 1.0


def test_a_bulk_lane_that_sent_its_requests_online_pays_the_online_price():
    figures = price_run(measured("online"), PRICES)
    streaming, hybrid = figures["day"][STREAMING], figures["day"][HYBRID]
    assert hybrid["totals"]["embedding_batch_tokens"] == 0
    assert hybrid["dollars"]["embedding"] == pytest.approx(streaming["dollars"]["embedding"])
    assert hybrid["dollars"]["embedding"] == pytest.approx(0.02)
    assert figures["ratio_streaming_to_hybrid"]["usd_embedding"] == 1.0


def test_a_run_saved_before_batch_counters_is_priced_all_online():
    old = measured("online")
    del old["bulk_embedding"]
    for mode in old["modes"].values():
        for counts in mode["lanes"].values():
            for key in BATCH_COUNTS:
                del counts[key]
    figures = price_run(old, PRICES)
    assert figures["measured"]["bulk_embedding"] == PRE_BATCH
    assert figures["day"][HYBRID]["dollars"]["embedding"] == pytest.approx(0.02)
    assert figures["day"][HYBRID]["lanes"]["bulk"]["embedding_batch_tokens"] == 0
    said = " ".join(report.assumptions(PRE_BATCH))
    assert "before batch counters" in said and "every token is priced online" in said


def test_the_assumptions_say_how_the_embedding_requests_were_sent():
    batch, online = report.assumptions("batch"), report.assumptions("online")
    assert any("INGEST_BULK_EMBEDDING=batch" in line for line in batch)
    assert any("--bulk-embedding online" in line for line in online)
    assert not any("Batch API at the batch price" in line for line in online)


def test_the_report_shows_every_row_and_draws_the_chart(tmp_path):
    figures = price_run(measured(), PRICES)
    console = Console(width=200, record=True)
    console.print(report.table(figures))
    console.print(report.run_table(figures))
    text = console.export_text()
    for label, _pair, _fmt in report.rows(figures["day"]):
        assert label in text
    assert "20,000" in text and "20.0x" in text  # online embedding calls a day, and their ratio
    assert "900,000" in text  # hybrid's tokens through batches a day
    data, png = report.write(figures, tmp_path / "out")
    saved = json.loads(data.read_text())
    assert saved["day"][HYBRID]["totals"]["embedding_calls"] == 1000
    assert saved["measured"]["modes"][HYBRID]["lanes"]["bulk"]["embedding_batch_tokens"] == 900
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_default_prices_are_settings():
    prices = Prices.from_settings(Settings())
    assert prices == Prices(0.02, 0.5, 0.04048, 2.5, 0.0)


def test_the_command_prices_an_older_cost_json_all_online_and_says_so(tmp_path, capsys):
    old = measured("online")
    del old["bulk_embedding"]
    (tmp_path / "old.json").write_text(json.dumps({"measured": old}))
    parser = argparse.ArgumentParser()
    add_cost_parser(parser.add_subparsers())
    args = parser.parse_args(["cost", "--from", str(tmp_path / "old.json"),
                              "--out", str(tmp_path / "out"), "--json"])
    assert args.bulk_embedding == "batch"  # a new run's default
    assert args.run(args) == 0
    out, err = capsys.readouterr()
    assert "every token is priced online" in " ".join(err.split())
    figures = json.loads(out)
    assert figures["measured"]["bulk_embedding"] == PRE_BATCH
    assert any("before batch counters" in line for line in figures["assumptions"])
