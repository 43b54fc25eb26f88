"""`python -m ingest_tasks.interfaces.cli`: the `ingest` command."""

import sys

from ingest_tasks.interfaces.cli import main

sys.exit(main())
