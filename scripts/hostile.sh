#!/usr/bin/env bash
# The whole hostile-input suite, its slow cases too (the 50 MB HTML parsed, the largest
# documents the limits take, measured in a process of their own): a few minutes.
# The fast part runs with every `scripts/test.sh`; this runs all of it:
#   scripts/hostile.sh [pytest options]     (-s shows the measured figures)
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ingest up redis
.venv/bin/python -m pytest tests/hostile -m '' "$@"
