"""An app in another language enqueues on the real stack with messages built by hand.

Nothing of the package or of Celery builds or sends these messages: the Celery protocol 2
message of docs/message-schema.md is written out here as JSON and pushed with a plain
Redis client (LPUSH of kombu's Redis envelope onto the `stream` list), or on RabbitMQ
published with py-amqp. The results are read by hand too, from the result backend's key.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from urllib.parse import unquote, urlsplit

import jsonschema
import redis as redis_lib

from ingest_tasks.core.polling import poll_until
from ingest_tasks.lanes.schema import load
from ingest_tasks.pipeline.retrieval import top_documents

TEXT = ("# Narwhals\n\nNarwhals are Arctic whales whose males grow a single spiral tusk, "
        "a tooth up to three metres long that senses the salt of the water around it.\n")
QUERY = "which whale grows a long spiral tusk?"


def message(task: str, args: list, kwargs: dict, minimal: bool = False) -> tuple[str, dict, bytes]:
    """A protocol 2 task message: its id, headers and JSON body [args, kwargs, embed]."""
    task_id = str(uuid.uuid4())
    headers: dict = {"task": task, "id": task_id}
    if not minimal:  # what Celery itself sends; only task and id are required
        headers.update({
            "lang": "py", "shadow": None, "eta": None, "expires": None, "group": None,
            "group_index": None, "retries": 0, "timelimit": [None, None], "root_id": task_id,
            "parent_id": None, "argsrepr": json.dumps(args)[:200],
            "kwargsrepr": json.dumps(kwargs)[:200], "origin": f"hand-built@{socket.gethostname()}",
            "ignore_result": False,
        })
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    return task_id, headers, json.dumps([args, kwargs, embed]).encode("utf-8")


def push_redis(broker_url: str, queue: str, task_id: str, headers: dict, body: bytes) -> None:
    """LPUSH kombu's Redis envelope (body base64) onto the queue's list, as kombu does."""
    envelope = {
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id, "reply_to": "", "delivery_mode": 2, "priority": 0,
            "delivery_info": {"exchange": queue, "routing_key": queue},
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    }
    redis_lib.Redis.from_url(broker_url).lpush(queue, json.dumps(envelope))


def publish_amqp(broker_url: str, queue: str, task_id: str, headers: dict, body: bytes) -> None:
    """basic.publish to the queue's direct exchange with a plain AMQP 0-9-1 client."""
    import amqp

    url = urlsplit(broker_url)
    vhost = unquote(url.path[1:]) or "/"
    with amqp.Connection(host=f"{url.hostname}:{url.port or 5672}", userid=unquote(url.username),
                         password=unquote(url.password), virtual_host=vhost) as connection:
        channel = connection.channel()
        channel.basic_publish(
            amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                         application_headers=headers, correlation_id=task_id, reply_to="",
                         delivery_mode=2, priority=0),
            exchange=queue, routing_key=queue)


def send(settings, task: str, args: list, kwargs: dict | None = None,
         minimal: bool = False) -> str:
    """Send a hand-built message to the `stream` queue of the settings' broker; its task id."""
    task_id, headers, body = message(task, args, kwargs or {}, minimal)
    push = publish_amqp if settings.broker.startswith("amqp") else push_redis
    push(settings.broker, "stream", task_id, headers, body)
    return task_id


def stored(settings, task_id: str, timeout: float = 120) -> dict:
    """The task's result as the backend stores it: the JSON at celery-task-meta-<id>."""
    backend = redis_lib.Redis.from_url(settings.backend)

    def ready() -> dict | None:
        raw = backend.get(f"celery-task-meta-{task_id}")
        meta = json.loads(raw) if raw else None
        return meta if meta and meta["status"] in ("SUCCESS", "FAILURE") else None

    return poll_until(ready, timeout, f"a stored result of {task_id}", 0.1)


def valid_result(meta: dict) -> dict:
    """The ProcessingResult of a successful task, checked against the shipped schema."""
    assert meta["status"] == "SUCCESS", meta
    schema = load()
    jsonschema.validate(meta["result"], {**schema["tasks"]["ingest.stream.ingest"]["result"],
                                         "$defs": schema["$defs"]})
    return meta["result"]


def test_a_hand_built_ingest_then_delete_is_committed_searchable_and_removed(client, settings):
    doc_id, version = f"apps/narwhal-{uuid.uuid4().hex[:6]}.md", time.time_ns()
    ref = {"doc_id": doc_id, "source": "narwhal.md", "version": version,
           "size": len(TEXT.encode()), "submitted": time.time(),
           "content": base64.b64encode(TEXT.encode()).decode("ascii")}
    args = [ref, None]
    schema = load()
    jsonschema.validate(args, {**schema["tasks"]["ingest.stream.ingest"]["args"],
                               "$defs": schema["$defs"]})

    result = valid_result(stored(settings, send(settings, "ingest.stream.ingest", args)))
    assert result["status"] == "committed" and result["doc_id"] == doc_id, result
    assert result["chunks"] >= 1 and result["tokens"] > 10
    assert doc_id in top_documents(client.search(QUERY, k=10), 3)

    # by keyword arguments, with only the two required headers
    gone = send(settings, "ingest.stream.delete", [],
                {"doc_id": doc_id, "version": time.time_ns(), "model": None}, minimal=True)
    result = valid_result(stored(settings, gone))
    assert result["status"] == "deleted" and result["doc_id"] == doc_id, result
    assert doc_id not in {hit.doc_id for hit in client.search(QUERY, k=10)}


def test_a_resent_message_is_unchanged_and_an_older_version_superseded(client, settings):
    doc_id, version = f"apps/kelp-{uuid.uuid4().hex[:6]}.md", time.time_ns()
    text = "# Kelp\n\nGiant kelp grows up to half a metre a day in cold coastal water.\n"
    ref = {"doc_id": doc_id, "source": "kelp.md", "version": version, "size": len(text),
           "content": base64.b64encode(text.encode()).decode("ascii")}
    outcomes = []
    for sent in (ref, ref, {**ref, "version": version - 1}):
        outcomes.append(valid_result(stored(settings, send(settings, "ingest.stream.ingest",
                                                           [sent])))["status"])
    assert outcomes == ["committed", "unchanged", "superseded"]


def test_a_docref_field_the_workers_do_not_know_fails_the_task(settings):
    ref = {"doc_id": "apps/odd.md", "source": "odd.md", "version": 1, "colour": "red",
           "content": base64.b64encode(b"# Odd\n\nA field no version defines.\n").decode()}
    meta = stored(settings, send(settings, "ingest.stream.ingest", [ref, None]))
    assert meta["status"] == "FAILURE" and meta["result"]["exc_type"] == "TypeError", meta

