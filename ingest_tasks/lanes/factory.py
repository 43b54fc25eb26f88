"""Making the Celery app of the lanes: create_app(settings) for any caller (the workers' app,
with the syncs' task and the beat's schedule too, is sync.factory.worker_app)."""

from __future__ import annotations

from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes import tasks
from ingest_tasks.lanes.app import IngestApp


def create_app(settings: Settings, *, current: bool = False) -> IngestApp:
    """The Celery app of these settings, its tasks registered."""
    app = IngestApp(settings, current=current)
    tasks.register(app)
    return app
