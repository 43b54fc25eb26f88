#!/usr/bin/env bash
# Install and run the whole test suite. The tests start a Redis server of their own on a
# free port, the Chroma server, both worker pools and Flower, and stop them at the end.
# Run whole (no arguments), the lanes' integration tests then run again with RabbitMQ
# as the broker: the second broker of the matrix (INGEST_TEST_AMQP_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python scripts/check_imports.py   # no import cycle, imports only down the layers
.venv/bin/mypy                              # the type check (pyproject.toml: [tool.mypy])
.venv/bin/python -m pytest "$@"
[ $# -eq 0 ] || exit 0
amqp="${INGEST_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672//}"
if ! .venv/bin/python -c "import kombu, sys; kombu.Connection(sys.argv[1]).ensure_connection(max_retries=1)" "$amqp" 2>/dev/null; then
  [ -z "${CI:-}" ] || { echo "RabbitMQ at $amqp does not answer" >&2; exit 1; }
  echo "RabbitMQ at $amqp does not answer: the amqp:// pass is skipped (CI runs it)"
  exit 0
fi
INGEST_TEST_BROKER_URL="$amqp" .venv/bin/python -m pytest tests/integration/test_stream.py tests/integration/test_batch_jobs.py \
  tests/integration/test_foreign_producer.py
