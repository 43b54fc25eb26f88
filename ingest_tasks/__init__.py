"""ingest-tasks: keep a RAG vector index fresh through a stream lane and a bulk lane.

`celery -A ingest_tasks ...` finds the worker's app as this package's `app`, built on
first access from the settings of the environment (ingest_tasks.sync.factory: the lanes'
tasks, the syncs' task and the beat's configuration).
"""


def __getattr__(name: str):
    """The Celery app for `celery -A ingest_tasks`, made when first asked for."""
    if name == "app":
        from ingest_tasks.sync.factory import worker_app

        return worker_app()
    raise AttributeError(name)
