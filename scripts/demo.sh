#!/usr/bin/env bash
# The main job on a fresh machine: install, bring the local stack up, ingest a folder
# (default: samples/), print the job summary and a search result.
#   scripts/demo.sh [FOLDER] [QUERY]
set -euo pipefail
cd "$(dirname "$0")/.."
folder=${1:-samples}
query=${2:-"why does the vector store run as a server?"}
scripts/setup.sh
export HF_HUB_OFFLINE=1
# workers read documents by path only under their source roots: add this folder
.venv/bin/ingest up --source-root "$folder"
.venv/bin/ingest batch "$folder"
.venv/bin/ingest search "$query" -k 3
echo "The stack is still up (Flower: http://127.0.0.1:${INGEST_FLOWER_PORT:-5555}); stop it with: .venv/bin/ingest down"
