#!/usr/bin/env bash
# Re-embed the live index with another model and swap it in: for cron or an operator.
#   scripts/reembed.sh MODEL        e.g. scripts/reembed.sh all-MiniLM-L6-v2
# Prints the build's and the swap's figures as JSON; exits 1 if the swap was refused (the
# live collection then stays live; `ingest status` shows the build and why), 2 on misuse.
# Run it again after an interruption: it resumes the build where its copy stopped. Runs
# that overlap (a slow one still going when cron starts the next) do not: the second exits 3.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 MODEL" >&2; exit 2; }
exec 9>"${TMPDIR:-/tmp}/ingest-reembed.lock"
flock -n 9 || { echo "another re-embedding run holds the lock" >&2; exit 3; }
state=$(.venv/bin/ingest status --json)
if .venv/bin/python -c "import json, sys; b = json.loads(sys.argv[1])['build']; sys.exit(not (b and b['status'] == 'building' and b['model'] == sys.argv[2]))" "$state" "$1"; then
  exec .venv/bin/ingest reembed --resume --json
fi
exec .venv/bin/ingest reembed --model "$1" --json
