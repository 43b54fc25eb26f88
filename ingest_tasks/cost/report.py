"""The answer of `ingest cost`: the figures priced per day, as a table, a JSON file and a chart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from ingest_tasks.cost.day import HYBRID, LANES, MODES, STREAMING
from ingest_tasks.cost.price import PRE_BATCH, ratio

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ASSUMPTIONS = (
    ("measured on a scaled day and multiplied up to 10,000 documents a day: embedding calls, "
     "batches, tokens, store writes and CPU-seconds; peak busy workers are kept as measured"),
    ("embedding calls, batches and tokens: counted by the embedding service (one process per "
     "lane), online (/v1/embeddings) and through its Batch API apart, tokens in the model's "
     "own tokenizer (a hosted model's tokenizer counts differently)"),
    ("store writes: requests counted by a proxy in front of the Chroma server; bytes written "
     "are ids, float32 vectors, documents and metadata"),
    ("workers: CPU-seconds of each pool (main process and children) at the vCPU-hour price; "
     "provisioned: each lane's pool sized for its peak of busy workers (from the workers' "
     "task events), one vCPU per worker process, all day"),
    "both modes run as many worker processes; pure streaming puts them all on its one lane",
)
EMBEDDING_SENT = {  # how the run's embedding requests were sent, by hybrid's bulk embedding
    "batch": ("embedding priced as the run sent it: tokens answered through the service's "
              "Batch API at the batch price, the others online. Hybrid's bulk lane sent its "
              "chunks as batches (INGEST_BULK_EMBEDDING=batch; the local service ends a batch "
              "at once, a hosted one within its window, up to 24 h); its singles and all of "
              "pure streaming went online"),
    "online": ("embedding priced as the run sent it: hybrid's bulk lane sent its requests "
               "online too (--bulk-embedding online), so every token is priced online"),
    PRE_BATCH: ("embedding: a run saved before batch counters were kept (--from an older "
                "cost.json) sent every request online: every token is priced online"),
}


def assumptions(bulk_embedding: str) -> list[str]:
    """What the figures rest on, with how a run whose bulk lane embedded `bulk_embedding`
    sent its embedding requests."""
    return [*ASSUMPTIONS[:2], EMBEDDING_SENT[bulk_embedding], *ASSUMPTIONS[2:]]


DOLLAR_ROWS = (("embedding", "$ embedding"), ("store_writes", "$ store writes"),
               ("workers_cpu", "$ workers, CPU-seconds"),
               ("workers_provisioned", "$ workers, provisioned for peak"),
               ("total_cpu", "$ total, workers by CPU-seconds"),
               ("total_provisioned", "$ total, workers provisioned"))


def table(figures: dict) -> Table:
    """Streaming against hybrid, per day."""
    table = Table("per day", "pure streaming", "hybrid", "streaming / hybrid",
                  title=f"Cost of {figures['day_documents']:,} documents a day "
                        f"(90% bulk uploads, 10% single updates)")
    for label, pair, fmt in rows(figures["day"]):
        times = ratio(*pair)
        table.add_row(label, *(fmt.format(v) for v in pair), "-" if times is None else f"{times}x")
    return table


def rows(day: dict) -> list[tuple[str, tuple[float, float], str]]:
    """The table's rows: label, (streaming, hybrid), format."""

    def both(get: Callable[..., float]) -> tuple[float, float]:  # lambdas bind key=, lane=
        return get(day[STREAMING]), get(day[HYBRID])

    found = [(label, both(lambda d, key=key: d["totals"][key]), "{:,.0f}")
             for key, label in (("embedding_calls", "embedding calls, online"),
                                ("embedding_tokens", "embedding tokens, online"),
                                ("embedding_batches", "embedding batches"),
                                ("embedding_batch_tokens", "embedding tokens, through batches"),
                                ("store_write_requests", "store write requests"))]
    found.append(("store MiB written", both(lambda d: d["totals"]["store_write_bytes"] / 2**20),
                  "{:,.1f}"))
    for lane in LANES:
        found.append((f"worker CPU-seconds, {lane} lane",
                      both(lambda d, lane=lane: d["lanes"][lane]["cpu_seconds"]), "{:,.0f}"))
    for lane in LANES:
        pools = "/".join(str(day[mode]["lanes"][lane]["pool"]) for mode in MODES)
        found.append((f"peak busy workers, {lane} lane (pools {pools})",
                      both(lambda d, lane=lane: d["lanes"][lane]["peak_busy"]), "{:.0f}"))
    found += [(label, both(lambda d, key=key: d["dollars"][key]), "{:,.3f}")
              for key, label in DOLLAR_ROWS]
    return found


def run_table(figures: dict) -> Table:
    """What the measured run was: its scale, time, outcomes and service."""
    measured = figures["measured"]
    table = Table("the run", "pure streaming", "hybrid",
                  title=f"Scaled day: {measured['docs']} documents = 1/{figures['scale_factor']:g} "
                        f"of a day, sent over {measured['spread']:g} s, model {measured['model']}, "
                        f"hybrid's bulk lane embedding {measured['bulk_embedding']}")
    modes = [measured["modes"][m] for m in MODES]

    def row(label: str, cell: Callable[[dict], object]) -> None:
        table.add_row(label, *(str(cell(m)) for m in modes))

    row("wall seconds", lambda m: m["wall_seconds"])
    row("documents by outcome", lambda m: ", ".join(f"{v} {k}" for k, v in sorted(m["statuses"].items())))
    row("single updates: submit -> committed, median / max s",
        lambda m: "{median} / {max}".format(**m["single_latency_seconds"]))
    row("uploads: submit -> all committed, median / max s",
        lambda m: "{median} / {max}".format(**m["upload_indexed_seconds"]))
    row("seconds bulk groups yielded to the stream lane", lambda m: m["bulk_yielded_seconds"])
    row("busy worker-seconds, stream / bulk lane",
        lambda m: " / ".join(str(m["lanes"][lane]["busy_seconds"]) for lane in LANES))
    row("embedding service CPU-seconds (not priced)",
        lambda m: round(sum(lane["embedding_service_cpu_seconds"]
                            for lane in m["lanes"].values()), 1))
    row("Chroma server CPU-seconds (not priced)", lambda m: m["chroma_cpu_seconds"])
    row("embedding batches / their requests", lambda m: "{} / {}".format(
        *(sum(lane[key] for lane in m["lanes"].values())
          for key in ("embedding_batches", "embedding_batch_requests"))))
    row("texts embedded / chunks committed", lambda m: "{} / {}".format(
        _embedded(m, "texts"), m["pipeline_chunks"]))
    row("tokens: service count / pipeline count", lambda m: "{} / {}".format(
        _embedded(m, "tokens"), m["pipeline_tokens"]))
    return table


def _embedded(mode: dict, what: str) -> int:
    """A mode's texts or tokens embedded, online and through batches, over both lanes."""
    return sum(lane[f"embedding_{what}"] + lane[f"embedding_batch_{what}"]
               for lane in mode["lanes"].values())


def write(figures: dict, out: Path) -> tuple[Path, Path]:
    """cost.json and cost.png in `out`; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    data, png = out / "cost.json", out / "cost.png"
    data.write_text(json.dumps(figures, indent=2) + "\n")
    chart(figures, png)
    return data, png


def chart(figures: dict, path: Path) -> None:
    """Dollars a day by item, the counts behind them, and what single updates waited."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("ingest cost draws its chart with matplotlib: "
                           "pip install 'ingest-tasks[cost]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    day, measured = figures["day"], figures["measured"]["modes"]
    fig, (money, counts, wait) = plt.subplots(1, 3, figsize=(17, 5.2), width_ratios=(3, 2, 1))
    items = {"embedding": "embedding", "store_writes": "store\nwrites",
             "workers_cpu": "workers\n(CPU-s)", "workers_provisioned": "workers\n(provisioned)",
             "total_cpu": "total\n(CPU-s)", "total_provisioned": "total\n(provisioned)"}
    _bars(money, list(items.values()),
          {m: [day[m]["dollars"][k] for k in items] for m in MODES}, "{:.2f}")
    money.set_ylabel("US dollars per day")
    money.set_title("Dollars per day, by item (workers: by CPU-s or provisioned)")
    keys = {"embedding_calls": "embedding\ncalls (online)",
            "embedding_batches": "embedding\nbatches",
            "store_write_requests": "store write\nrequests",
            "cpu_seconds": "worker\nCPU-seconds", "busy_seconds": "busy worker-\nseconds"}
    _bars(counts, list(keys.values()),
          {m: [day[m]["totals"][k] for k in keys] for m in MODES}, "{:,.0f}")
    counts.set_yscale("log")
    counts.set_title("Counts per day (log scale)")
    _bars(wait, ["median", "max"], {m: [measured[m]["single_latency_seconds"][k]
                                       for k in ("median", "max")] for m in MODES}, "{:.0f}")
    wait.set_ylabel("seconds")
    wait.set_title("Single updates:\nsubmit -> committed (the run)")
    fig.suptitle(f"Pure streaming vs hybrid, {figures['day_documents']:,} documents a day "
                 f"(measured on 1/{figures['scale_factor']:g} of a day, as many workers each)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(axes: Axes, labels: list[str], values: dict[str, list[float]], fmt: str) -> None:
    """Grouped bars, one group per label, one bar per mode, each with its value."""
    width = 0.38
    for offset, (mode, heights) in zip((-width / 2, width / 2), values.items()):
        xs = [i + offset for i in range(len(labels))]
        bars = axes.bar(xs, heights, width, label="pure streaming" if mode == STREAMING else mode)
        axes.bar_label(bars, [fmt.format(h) for h in heights], fontsize=8)
    axes.set_xticks(range(len(labels)), labels)
    axes.legend()
