#!/usr/bin/env bash
# Install, make sure Redis answers, and run the whole test suite (the tests start the
# Chroma server, both worker pools and Flower themselves, and stop them at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ingest up redis
exec .venv/bin/python -m pytest "$@"
