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
# workers read documents only under these folders (the pools must start with it)
export INGEST_SOURCE_ROOTS=${INGEST_SOURCE_ROOTS:-$(cd "$folder" && pwd -P)}
.venv/bin/ingest up
.venv/bin/ingest batch "$folder"
.venv/bin/ingest search "$query" -k 3
echo "The stack is still up (Flower: http://127.0.0.1:${INGEST_FLOWER_PORT:-5555}); stop it with: .venv/bin/ingest down"
