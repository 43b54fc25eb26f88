"""The syncs' task: `ingest.sources.sync(name)`, the sync of a configured source that its
schedule starts, on the `sources` queue (lanes.app routes ingest.sources.* there).

A thin shell over runner.sync. A source that another sync or its watcher holds is
skipped, not failed: the log says so, and so does the result.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import SourceError, SyncBusy
from ingest_tasks.lanes import worklog
from ingest_tasks.sync import runner
from ingest_tasks.sync.sources import configured

if TYPE_CHECKING:
    from celery import Task

    from ingest_tasks.lanes.app import IngestApp

SYNC = "ingest.sources.sync"
sync_log = logging.getLogger(worklog.LOGGER + ".sync")


def sync_source(self: Task, name: str) -> dict:
    """Sync the configured source `name`; the sync's report, or why it was skipped."""
    source = configured(self.app.settings).get(name)
    if source is None:
        raise SourceError(f"no configured source is named {name!r} (INGEST_SOURCES)")
    try:
        return runner.sync(self.app, source, trigger="schedule").to_dict()
    except SyncBusy as exc:
        worklog.log_fields(sync_log, logging.INFO,
                           {"source": name, "outcome": "skipped", "reason": str(exc)})
        return {"source": name, "skipped": str(exc)}


def register(app: IngestApp) -> None:
    """Make the syncs' task the app's."""
    app.task(name=SYNC, bind=True)(sync_source)
