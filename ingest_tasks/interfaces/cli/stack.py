"""Commands of the local stack and its servers: up, down, metrics, serve, apikey."""

from __future__ import annotations

import json

from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.cli.console import OK, err


def cmd_up(args) -> int:
    """Start Redis (if none answers), the Chroma server, the pools, the beat and Flower."""
    from ingest_tasks.ops.stack import Stack
    from ingest_tasks.pipeline.roots import remember

    settings = get_settings()
    for root in remember(settings.state_dir, args.source_roots):
        err.print(f"source root added: {root}")
    Stack(settings).up(args.parts, report=err.print)
    roots = [*map(str, settings.roots), *settings.s3_roots]
    err.print("workers read documents under: " + (", ".join(roots) or
              "no folder (only content sent inline); add one with --source-root DIR"))
    return OK


def cmd_down(args) -> int:
    """Stop what `ingest up` started."""
    from ingest_tasks.ops.stack import Stack

    Stack(get_settings()).down(args.parts, report=err.print)
    return OK


def cmd_metrics(args) -> int:
    """Serve metrics for Prometheus at http://0.0.0.0:PORT/metrics until interrupted."""
    from ingest_tasks.ops.metrics import serve

    err.print(f"serving metrics at http://0.0.0.0:{args.port}/metrics")
    serve(get_settings(), args.port)
    return OK


def cmd_serve(args) -> int:
    """Serve the HTTP API and the status page (needs INGEST_API_KEYS)."""
    from ingest_tasks.interfaces.http.server import serve

    settings = get_settings()
    host, port = args.host or settings.api_host, args.port or settings.api_port
    err.print(f"serving the API at http://{host}:{port}/ (schema: /docs, status page: /)")
    serve(settings, host, port, args.workers)
    return OK


def cmd_apikey(args) -> int:
    """Make an API key: print the key once, and the INGEST_API_KEYS entry to configure."""
    from ingest_tasks.interfaces.http.auth import new_key

    secret, entry = new_key(args.name, args.scope)
    if args.json:
        print(json.dumps({"key": secret, "entry": entry}))
        return OK
    print(f"key (shown once; give it to the caller): {secret}")
    print(f"entry (add to INGEST_API_KEYS, comma-separated; it holds only a hash): {entry}")
    return OK
