"""Prices of a day: measured counts scaled from the run to the day, times unit prices.

What is priced, per mode:
- embedding: tokens as they were sent, on any lane: those the service answered at
  /v1/embeddings at the online price, those it answered through its Batch API at the
  batch price (the discount off the online one);
- store writes: bytes written per GiB, and write requests at their price (if any);
- workers, two ways: CPU-seconds at the vCPU-hour price, and provisioned capacity: each
  lane's pool sized for its peak of busy workers, one vCPU each, all day.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, TypedDict

from ingest_tasks.cost.day import DAY_DOCS, HYBRID, MODES, STREAMING, scale_factor

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings

# Per-lane counts that grow with the number of documents (scaled to the day); the rest
# (peak busy workers, pool size) are levels, kept as measured.
BATCH_COUNTS = ("embedding_batches", "embedding_batch_requests", "embedding_batch_texts",
                "embedding_batch_tokens")
EXTENSIVE = ("embedding_calls", "embedding_texts", "embedding_tokens", *BATCH_COUNTS,
             "store_write_requests", "store_write_records", "store_write_bytes", "cpu_seconds",
             "busy_seconds")
PRE_BATCH = "online, saved before batch counters were kept"  # bulk_embedding of an old run
GIB = 2**30
DAY_HOURS = 24


class ModeDay(TypedDict):
    """One mode's day: each lane's scaled counts, their totals, and the dollars."""

    lanes: dict[str, dict]
    totals: dict[str, float]
    dollars: dict[str, float]


@dataclass(frozen=True)
class Prices:
    """Unit prices in US dollars (settings: INGEST_PRICE_*)."""

    embedding_per_mtok: float
    embedding_batch_discount: float
    vcpu_hour: float
    store_write_gib: float
    store_write_request: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Prices:
        """The prices the settings give."""
        return cls(settings.price_embedding_per_mtok, settings.price_embedding_batch_discount,
                   settings.price_vcpu_hour, settings.price_store_write_gib,
                   settings.price_store_write_request)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def per_day(lanes: dict[str, dict], factor: float) -> dict[str, dict]:
    """Each lane's counts of the run scaled to the day by `factor`; levels kept as they are."""
    return {lane: {key: value * factor if key in EXTENSIVE else value
                   for key, value in counts.items()}
            for lane, counts in lanes.items()}


def embedding_price(online_tokens: float, batch_tokens: float, prices: Prices) -> float:
    """Dollars of tokens as they were sent: online at the online price, through batches
    at the batch price."""
    billed = online_tokens + batch_tokens * (1 - prices.embedding_batch_discount)
    return billed / 1e6 * prices.embedding_per_mtok


def with_batch_counts(measured: dict) -> dict:
    """A saved run as this version prices it: one saved before the batch counters were
    kept sent every request online, so its lanes get batch counters of 0 and its
    bulk_embedding says so."""
    if "bulk_embedding" in measured:
        return measured
    modes = {mode: {**figures, "lanes": {lane: {**dict.fromkeys(BATCH_COUNTS, 0), **counts}
                                         for lane, counts in figures["lanes"].items()}}
             for mode, figures in measured["modes"].items()}
    return {**measured, "bulk_embedding": PRE_BATCH, "modes": modes}


def dollars(day: dict[str, dict], prices: Prices) -> dict[str, float]:
    """A mode's dollars per day by item, and the totals with either worker price."""
    lanes = day.values()
    items = {
        "embedding": sum(embedding_price(c["embedding_tokens"], c["embedding_batch_tokens"],
                                         prices) for c in lanes),
        "store_writes": sum(c["store_write_bytes"] / GIB * prices.store_write_gib
                            + c["store_write_requests"] * prices.store_write_request
                            for c in lanes),
        "workers_cpu": sum(c["cpu_seconds"] for c in lanes) / 3600 * prices.vcpu_hour,
        "workers_provisioned": sum(c["peak_busy"] for c in lanes) * DAY_HOURS * prices.vcpu_hour,
    }
    shared = items["embedding"] + items["store_writes"]
    return {**items, "total_cpu": shared + items["workers_cpu"],
            "total_provisioned": shared + items["workers_provisioned"]}


def price_run(measured: dict, prices: Prices) -> dict:
    """The measured run priced per day: each mode's scaled counts and dollars, and the ratios."""
    measured = with_batch_counts(measured)
    factor = scale_factor(measured["docs"])
    day: dict[str, ModeDay] = {}
    for mode in MODES:
        lanes = per_day(measured["modes"][mode]["lanes"], factor)
        day[mode] = {"lanes": lanes, "totals": _totals(lanes), "dollars": dollars(lanes, prices)}
    rows = {**{k: (day[STREAMING]["totals"][k], day[HYBRID]["totals"][k])
               for k in day[STREAMING]["totals"]},
            **{f"usd_{k}": (day[STREAMING]["dollars"][k], day[HYBRID]["dollars"][k])
               for k in day[STREAMING]["dollars"]}}
    return {"day_documents": DAY_DOCS, "scale_factor": factor, "prices": prices.to_dict(),
            "day": day,
            "ratio_streaming_to_hybrid": {k: ratio(*pair) for k, pair in rows.items()},
            "measured": measured}


def _totals(lanes: dict[str, dict]) -> dict[str, float]:
    """A mode's counts over both lanes."""
    keys = ("embedding_calls", "embedding_tokens", "embedding_batches", "embedding_batch_tokens",
            "store_write_requests", "store_write_bytes", "cpu_seconds", "busy_seconds",
            "peak_busy")
    return {key: sum(lane[key] for lane in lanes.values()) for key in keys}


def ratio(streaming: float, hybrid: float) -> float | None:
    """Streaming / hybrid, or None where either is 0 (a lane one mode does not use)."""
    return round(streaming / hybrid, 2) if streaming and hybrid else None
