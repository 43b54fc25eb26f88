"""Making the Celery app: create_app(settings) for any caller, worker_app() for workers."""

from __future__ import annotations

from functools import cache

from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.lanes import tasks
from ingest_tasks.lanes.app import IngestApp


def create_app(settings: Settings, *, current: bool = False) -> IngestApp:
    """The Celery app of these settings, its tasks registered."""
    app = IngestApp(settings, current=current)
    tasks.register(app)
    return app


@cache
def worker_app() -> IngestApp:
    """The app of `celery -A ingest_tasks` and `python -m workers`: the environment's settings."""
    return create_app(get_settings(), current=True)
