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
# The amqp:// pass runs on a virtual host of its own (made with rabbitmqctl, removed after),
# never on the server's default one, whose queues may be the user's; or on
# INGEST_TEST_AMQP_URL if given (it is purged).
amqp="${INGEST_TEST_AMQP_URL:-}"
if [ -z "$amqp" ]; then
  vhost="ingest-tests-$$"
  if command -v rabbitmqctl >/dev/null && timeout 60 rabbitmqctl -q add_vhost "$vhost" >/dev/null 2>&1; then
    trap 'timeout 60 rabbitmqctl -q delete_vhost "$vhost" >/dev/null 2>&1 || true' EXIT
    timeout 60 rabbitmqctl -q set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null
    amqp="amqp://guest:guest@127.0.0.1:5672/$vhost"
  fi
fi
if [ -z "$amqp" ] || ! .venv/bin/python -c "import kombu, sys; kombu.Connection(sys.argv[1]).ensure_connection(max_retries=1)" "$amqp" 2>/dev/null; then
  [ -z "${CI:-}" ] || { echo "RabbitMQ does not answer, or no virtual host could be made for the tests" >&2; exit 1; }
  echo "RabbitMQ does not answer, or rabbitmqctl cannot make a virtual host: the amqp:// pass is skipped (CI runs it; or set INGEST_TEST_AMQP_URL)"
  exit 0
fi
INGEST_TEST_BROKER_URL="$amqp" .venv/bin/python -m pytest tests/integration/test_stream.py tests/integration/test_batch_jobs.py \
  tests/integration/test_foreign_producer.py
