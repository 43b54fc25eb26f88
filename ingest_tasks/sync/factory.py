"""The app of the workers and the beat (`celery -A ingest_tasks`, `python -m workers`): the
lanes' app, with the syncs' task and the beat's configuration."""

from __future__ import annotations

from functools import cache

from ingest_tasks.core.settings import get_settings
from ingest_tasks.lanes.app import IngestApp
from ingest_tasks.lanes.factory import create_app
from ingest_tasks.sync import beat, tasks


@cache
def worker_app() -> IngestApp:
    """The workers' and the beat's app, of the environment's settings."""
    app = create_app(get_settings(), current=True)
    tasks.register(app)
    app.conf.update(beat.configuration(app.settings))
    return app
