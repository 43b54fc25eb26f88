"""`ingest cost`: what pure streaming costs against hybrid, measured on the real stack.

A day is 10,000 documents, 90% in bulk uploads and 10% as single updates. A scaled day
(`--docs`, default 40 = 1/250 of a day) drawn from the corpus runs twice on a stack of
its own: pure streaming (every document a stream task, IngestClient.stream) and hybrid
(singles streamed, uploads as batch jobs, IngestClient.submit_batch, whose bulk lane
embeds through the embedding service's Batch API unless `--bulk-embedding online`).
Embedding calls and tokens (online, and through batches), store write requests and
bytes, worker CPU-seconds and busy workers per lane are counted (see meters.py), scaled
to the day and priced with the INGEST_PRICE_* settings (price.py): batch tokens at the
batch price, the others online. The table goes to the terminal, cost.json and cost.png
to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

DEFAULT_DOCS = 40
SECONDS_PER_DOC = 0.5  # default spread of the arrivals: the scaled day's length
DEFAULT_MODEL = "api:all-MiniLM-L6-v2"


def add_cost_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `ingest cost` subcommand of the `ingest` command line."""
    from ingest_tasks.cost.day import BULK_EMBEDDINGS
    from ingest_tasks.testing.stacks import DEFAULT_CORPUS

    p = sub.add_parser("cost", help=cmd_cost.__doc__)
    p.add_argument("--docs", type=int, default=DEFAULT_DOCS,
                   help=f"documents of the scaled day (default {DEFAULT_DOCS}; a day has 10,000)")
    p.add_argument("--spread", type=float,
                   help=f"seconds the arrivals are spread over (default {SECONDS_PER_DOC} per document)")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                   help="folder with MANIFEST.tsv: its valid files are the documents")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="an api: model, embedded by the bundled embedding service")
    p.add_argument("--bulk-embedding", choices=BULK_EMBEDDINGS, default=BULK_EMBEDDINGS[0],
                   help="how hybrid's bulk lane embeds: through the service's Batch API "
                        "(default) or online, as the stream lane does")
    p.add_argument("--redis-url", default=os.environ.get("INGEST_REDIS_URL",
                                                         "redis://127.0.0.1:6379/13"),
                   help="a Redis database no workers use (default: INGEST_REDIS_URL, else /13)")
    p.add_argument("--seed", type=int, default=7, help="draws the documents and the uploads")
    p.add_argument("--out", type=Path, default=Path("cost"),
                   help="folder for cost.json and cost.png (default: ./cost)")
    p.add_argument("--from", dest="source", type=Path, metavar="COST_JSON",
                   help="price a saved run's counts again with the current prices; no run")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for a mode")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(run=cmd_cost)


def cmd_cost(args: argparse.Namespace) -> int:
    """Measure pure streaming against hybrid on a scaled day of the real stack; price both."""
    from rich.console import Console

    from ingest_tasks.core.settings import get_settings
    from ingest_tasks.cost import report
    from ingest_tasks.cost.price import PRE_BATCH, Prices, price_run

    out, err = Console(), Console(stderr=True)
    if args.source:
        measured = json.loads(args.source.read_text())["measured"]
    else:
        measured = _measure(args, lambda line: err.print(f"[dim]{line}[/dim]"))
    figures = price_run(measured, Prices.from_settings(get_settings()))
    bulk_embedding = figures["measured"]["bulk_embedding"]
    if bulk_embedding == PRE_BATCH:
        err.print(f"{args.source}: saved before batch counters were kept; every request was "
                  "sent online and every token is priced online")
    figures["assumptions"] = report.assumptions(bulk_embedding)
    data, png = report.write(figures, args.out)
    if args.json:
        print(json.dumps(figures))
        return 0
    out.print(report.table(figures))
    out.print(report.run_table(figures))
    err.print(f"figures: {data}\nchart: {png}")
    return 0


def _measure(args: argparse.Namespace, report: Callable[[str], None]) -> dict:
    """Run the scaled day both ways; the counts with what was run."""
    from ingest_tasks.cost.day import plan_day, valid_files
    from ingest_tasks.cost.run import measure

    spread = args.spread if args.spread is not None else SECONDS_PER_DOC * args.docs
    arrivals = plan_day(valid_files(args.corpus), args.docs, spread, args.seed)
    modes = measure(arrivals, args.redis_url, args.model, args.timeout, report,
                    args.bulk_embedding)
    return {"docs": args.docs, "spread": spread, "seed": args.seed, "model": args.model,
            "bulk_embedding": args.bulk_embedding,
            "uploads": [len(a.docs) for a in arrivals if a.kind == "upload"],
            "singles": sum(a.kind == "single" for a in arrivals), "modes": modes}
