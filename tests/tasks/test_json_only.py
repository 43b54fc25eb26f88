"""JSON only: a pickled task message is refused by a real worker, and nothing of it runs.

The hostile message is a task message of protocol 2 for a real task, published straight
to the stream queue with a pickle body whose unpickling alone would make a folder (the
classic payload of a pickle: a `__reduce__` that calls a function). The worker must
refuse it before it decodes the body, drop it, and go on serving.
"""

import os
import pickle
import uuid

import pytest
from celery.signals import task_prerun, task_rejected
from kombu.exceptions import ContentDisallowed

from ingest_tasks.core.keys import STREAM_QUEUE
from ingest_tasks.core.polling import poll_until
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.lanes.backpressure import queue_depth

PICKLE = "application/x-python-serialize"


class _Payload:
    """Unpickling this makes the folder `path`: code run by merely decoding a message."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _pickled_body(marker) -> bytes:
    """A protocol 2 body (args, kwargs, embed) whose unpickling makes the folder `marker`."""
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    return pickle.dumps(([_Payload(str(marker))], {}, embed))


@pytest.fixture
def seen():
    """The ids of tasks the worker started, and of messages it rejected with the reason."""
    seen = {"ran": [], "rejected": {}}

    def ran(task_id, **_):
        seen["ran"].append(task_id)

    def rejected(message, exc, **_):
        seen["rejected"][message.headers["id"]] = exc

    task_prerun.connect(ran, weak=False)
    task_rejected.connect(rejected, weak=False)
    yield seen
    task_prerun.disconnect(ran)
    task_rejected.disconnect(rejected)


def test_the_payload_runs_code_when_unpickled(tmp_path):
    marker = tmp_path / "made-by-unpickling"
    pickle.loads(_pickled_body(marker))  # what a worker accepting pickle would do
    assert marker.is_dir()


def test_a_pickled_message_is_refused_and_nothing_of_it_runs(worker, seen, tmp_path):
    stream_queues = worker.app.control.inspect([worker.hostname], timeout=5).active_queues()
    assert STREAM_QUEUE in {q["name"] for q in stream_queues[worker.hostname]}
    marker, task_id = tmp_path / "made-by-the-message", str(uuid.uuid4())
    message = worker.app.amqp.as_task_v2(task_id, "ingest.stream.ingest")  # a real task's headers
    with worker.app.producer_or_acquire() as producer:
        producer.publish(_pickled_body(marker), exchange=STREAM_QUEUE, routing_key=STREAM_QUEUE,
                         content_type=PICKLE, content_encoding="binary",
                         headers=message.headers, **message.properties)

    def handled() -> bool:  # refused, or (what must not happen) decoded or run
        return task_id in seen["rejected"] or task_id in seen["ran"] or marker.exists()

    poll_until(handled, 30, "the worker's answer to the message")
    assert not marker.exists()
    assert task_id not in seen["ran"]
    assert isinstance(seen["rejected"][task_id], ContentDisallowed)
    assert worker.app.AsyncResult(task_id).state == "PENDING"  # no result: it never ran
    assert queue_depth(worker.app, STREAM_QUEUE) == 0  # dropped, not sent back to the queue
    if worker.app.conf.broker_url.startswith("redis"):  # nor kept to be delivered again later
        with worker.app.connection_for_read() as conn:
            unacked = conn.default_channel.client.hvals("unacked")
        assert not [raw for raw in unacked if task_id.encode() in raw]

    assert worker.app.control.ping([worker.hostname], timeout=5)
    result = IngestClient().submit_content("json-after-pickle", " \n", "blank.md").get(timeout=60)
    assert result["status"] == "failed" and result["reason"].startswith("empty: ")
    assert not marker.exists()
