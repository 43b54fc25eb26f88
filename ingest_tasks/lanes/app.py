"""The Celery app: JSON only, the lanes' two queues (and the syncs' one), late acks, time limits
below the visibility timeout.

An IngestApp is made from one Settings, which it carries with its process's heavy
resources; lanes.factory.create_app registers the tasks on it. Nothing is built at
import. Its worker's log is written in INGEST_LOG_FORMAT (see worklog).
"""

from __future__ import annotations

import math

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger
from celery.utils.log import get_multiprocessing_logger
from kombu import Exchange, Queue
from kombu.utils.url import parse_url

from ingest_tasks.core.keys import BULK_QUEUE, SOURCES_QUEUE, STREAM_QUEUE
from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.lanes import result_backend, worklog
from ingest_tasks.pipeline.resources import Resources


class IngestApp(Celery):
    """The Celery app of one Settings, and the resources of this process under them."""

    def __init__(self, settings: Settings, *, current: bool = False) -> None:
        super().__init__("ingest_tasks", broker=settings.broker,
                         backend=result_backend.backend_url(settings.backend),
                         set_as_current=current)
        self.settings = settings
        self.conf.update(configuration(settings))
        self._resources: Resources | None = None

    @property
    def resources(self) -> Resources:
        """This process's models and clients, made on first use."""
        if self._resources is None:
            self._resources = Resources(self.settings)
        return self._resources

    def reset_resources(self) -> None:
        """Forget the resources: a forked pool process makes its own, never its parent's."""
        self._resources = None


def configuration(settings: Settings) -> dict:
    """Celery's configuration for these settings."""
    return dict(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q)
                     for q in (STREAM_QUEUE, BULK_QUEUE, SOURCES_QUEUE)],
        task_default_queue=BULK_QUEUE,
        task_routes={
            "ingest.stream.*": {"queue": STREAM_QUEUE},
            "ingest.bulk.*": {"queue": BULK_QUEUE},
            "ingest.sources.*": {"queue": SOURCES_QUEUE},  # syncs: registered by sync.tasks
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=settings.task_soft_time_limit,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.unacked_restore_interval,
            "unacked_restore_throttle": settings.unacked_restore_throttle,
            # kombu's lock around restoring unacked messages: a worker killed while holding
            # it (default 300 s) would hold back every redelivery that long
            "unacked_mutex_expire": min(300, settings.visibility_timeout),
        },
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_expires=settings.job_ttl_seconds,
        result_extended=False,
        worker_max_memory_per_child=settings.max_memory_per_child_kb,
        worker_send_task_events=True,
        task_send_sent_event=True,
        broker_connection_retry_on_startup=True,
        task_publish_retry=True,
        task_publish_retry_policy=publish_retry_policy(settings.publish_retry_seconds),
        broker_use_ssl=_tls_options(settings.broker),
    )


def publish_retry_policy(seconds: float) -> dict:
    """Kombu's retry policy for sending a task: try again every second or so for `seconds`.

    Celery's default gives up after about 0.6 s, shorter than a Redis restart.
    """
    return {"max_retries": math.ceil(seconds) + 1, "interval_start": 0,
            "interval_step": 0.5, "interval_max": 1.0}


def _tls_options(url: str) -> dict | bool:
    """The ssl_* options of a rediss:// URL's query, for readers of broker_use_ssl (Flower)
    rather than of the URL; False for other URLs."""
    return parse_url(url).get("ssl", {}) if url.startswith("rediss://") else False


@after_setup_logger.connect
def _root_log_format(logger, **_) -> None:
    """Celery has set up the worker's root logger: its lines, and multiprocessing's, in ours."""
    mp_logger = get_multiprocessing_logger()
    worklog.use_format([logger, *([mp_logger] if mp_logger else [])], get_settings().log_format)


@after_setup_task_logger.connect
def _task_log_format(logger, **_) -> None:
    """Celery has set up its task logger: its lines in our format."""
    worklog.use_format([logger], get_settings().log_format)

