"""Redis with a password and with TLS: every client of ingest-tasks works through the URL alone.

Two Redis servers of the module's own (tests/redis_servers.py): one wants a password; the
other speaks only TLS and wants a password and a client certificate of a CA made for the
test. Each test runs against both: the job-state client, the embedding service's rate
limiter, the broker and result backend through a real stream pool, Flower, the metrics
exporter's reads, and `ingest up`. A wrong or missing password, or a server certificate
of another CA, is refused at once by each, saying why.
"""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import redis
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from ingest_tasks.core.keys import RATE_KEY
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes.factory import create_app
from ingest_tasks.ops.metrics import Collector
from ingest_tasks.ops.stack import Stack
from ingest_tasks.pipeline.embed import api_embedder
from ingest_tasks.pipeline.resources import Resources
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state.clock import next_versions
from ingest_tasks.testing.stacks import free_port
from tests.redis_servers import PASSWORD, make_certificates, password_redis, tls_redis
from tests.servers import ROOT, serving

NODE = f"auth-tls@{socket.gethostname()}"


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    """The URLs of the two servers, by kind."""
    folder = tmp_path_factory.mktemp("redis")
    with password_redis(folder) as password, tls_redis(folder) as tls:
        yield {"password": password, "tls": tls}


@pytest.fixture(params=["password", "tls"])
def url(request, urls):
    return urls[request.param]


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory):
    """The bundled embedding service, its wordllama loaded."""
    with serving(tmp_path_factory.mktemp("embed")) as url:
        api_embedder("api:wordllama", Settings(embedding_api_url=url)).embed(["warm"])
        yield url


def _settings(url: str, **more) -> Settings:
    """Settings whose Redis, broker and result backend are all `url`."""
    return Settings(redis_url=url, broker_url="", result_backend="", **more)


def test_job_state_and_the_rate_limiter_work_on_it(url, embed_server):
    settings = _settings(url, embedding_api_url=embed_server, embedding_api_batch=1,
                         embedding_api_rate=2, embedding_api_burst=1)
    state = Resources(settings).redis
    first, second = next_versions(state)[0], next_versions(state)[0]
    assert second > first

    embedder = api_embedder("api:wordllama", settings)
    assert embedder.embed(["a harbour crane", "a river barge"]).shape == (2, embedder.dim)
    assert 0 < embedder.waited <= 0.5  # the second request waited for the next token
    assert state.exists(RATE_KEY + f"embedding-api:{embed_server}")


def test_a_task_goes_through_a_worker_and_flower_and_metrics_see_it(url, tmp_path):
    settings = _settings(url, embedding_model="wordllama")
    app = create_app(settings)
    with _pool_and_flower(settings, tmp_path) as flower:
        poll_until(lambda: bool(app.control.ping([NODE], timeout=0.5)), 60, "the stream pool")
        blank = DocRef.inline("blank", b" \n", "blank.md", 1)
        result = app.send_task("ingest.stream.ingest", args=[blank.to_dict()]).get(timeout=30)
        assert result["status"] == "failed" and result["reason"].startswith("empty: ")

        poll_until(lambda: _answers(flower), 60, "Flower")
        auth = tuple(settings.flower_basic_auth.split(":", 1))
        queues = httpx.get(f"{flower}/api/queues/length", auth=auth, timeout=10)
        assert {"name": "stream", "messages": 0} in queues.raise_for_status().json()["active_queues"]
        # Flower's refresh asks the workers with a short timeout: an answer late by a moment
        # is an empty {} that time, so wait for the node to be listed
        poll_until(lambda: NODE in _flower_workers(flower, auth), 60, f"Flower listing {NODE}")

    collector = Collector(app, Resources(settings).redis, redis.Redis.from_url(settings.broker))
    metrics = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in collector.collect() for sample in family.samples}
    assert metrics[("ingest_documents_total",
                    (("lane", "stream"), ("model", "wordllama"), ("status", "failed")))] == 1
    assert metrics[("ingest_failures_total", (("lane", "stream"), ("reason", "empty")))] == 1
    assert metrics[("ingest_queue_depth", (("queue", "stream"),))] == 0
    assert metrics[("ingest_unacked_messages", ())] == 0


def test_ingest_up_finds_it_answering_and_starts_no_other(url, tmp_path):
    stack, lines = Stack(_settings(url, state_dir=tmp_path)), []
    stack.up(["redis"], report=lines.append)
    assert lines == [f"redis: answering at 127.0.0.1:{urlsplit(url).port}"]
    assert stack.pid("redis") is None


def test_ingest_up_starts_a_local_redis_that_wants_the_urls_password(tmp_path):
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    stack = Stack(_settings(url, state_dir=tmp_path))
    stack.up(["redis"], report=lambda line: None)
    try:
        assert stack.pid("redis") and Resources(stack.settings).redis.ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(url.replace(f":{PASSWORD}@", "@")).ping()
    finally:
        stack.down(["redis"], report=lambda line: None)


def test_ingest_up_starts_no_redis_of_its_own_for_a_tls_url(tmp_path):
    url = f"rediss://127.0.0.1:{free_port()}/0?ssl_cert_reqs=required"  # nothing listens there
    stack = Stack(_settings(url, state_dir=tmp_path))
    with pytest.raises(RuntimeError, match="does not answer"):
        stack.up(["redis"], report=lambda line: None)
    assert stack.pid("redis") is None


@pytest.mark.parametrize("given", ["wrong", "none"])
def test_a_wrong_or_missing_password_is_refused_at_once(url, given, tmp_path):
    bad = url.replace(f":{PASSWORD}@", ":wrong@" if given == "wrong" else "@")
    _assert_refused(_settings(bad, state_dir=tmp_path), "password|authenticated|Authentication")


def test_a_server_certificate_of_another_ca_is_refused(urls, tmp_path):
    other_ca = make_certificates(tmp_path)["ca"]
    query = {**dict(parse_qsl(urlsplit(urls["tls"]).query)), "ssl_ca_certs": other_ca}
    untrusting = urlsplit(urls["tls"])._replace(query=urlencode(query)).geturl()
    _assert_refused(_settings(untrusting, state_dir=tmp_path), "CERTIFICATE_VERIFY_FAILED")


def test_a_tls_url_must_say_how_to_check_the_server():
    with pytest.raises(ValidationError, match="ssl_cert_reqs") as refused:
        Settings(broker_url="rediss://:pw-1@h:6380/0")  # kombu would not check the certificate
    assert "pw-1" not in str(refused.value)  # nor is a password echoed


def _assert_refused(settings: Settings, reason: str) -> None:
    """Each client of `settings` fails at its first use, within seconds, saying `reason`;
    `ingest up` starts no Redis of its own instead."""
    app, stack = create_app(settings), Stack(settings)

    def broker():
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)

    uses = {"job state": lambda: Resources(settings).redis.ping(),
            "result backend": lambda: app.backend.client.ping(), "broker": broker,
            "ingest up": lambda: stack.up(["redis"], report=lambda line: None)}
    for name, use in uses.items():
        started = time.monotonic()
        with pytest.raises((redis.RedisError, OperationalError, RuntimeError), match=reason):
            use()
        assert time.monotonic() - started < 10, name
    assert stack.pid("redis") is None


@contextmanager
def _pool_and_flower(settings: Settings, folder: Path):
    """The stream pool (as NODE) and Flower on the settings' Redis alone; yields Flower's URL."""
    env = {**os.environ, "INGEST_REDIS_URL": settings.redis_url, "INGEST_BROKER_URL": "",
           "INGEST_RESULT_BACKEND": "", "INGEST_EMBEDDING_MODEL": settings.embedding_model,
           "INGEST_STATE_DIR": str(folder)}
    port = free_port()
    commands = {
        "pool": [sys.executable, "-m", "workers", "stream", "-n", NODE],
        "flower": [sys.executable, "-m", "celery", "-A", "ingest_tasks", "flower",
                   "--address=127.0.0.1", f"--port={port}",
                   f"--basic-auth={settings.flower_basic_auth}"],
    }
    processes = []
    try:
        for name, argv in commands.items():
            with open(folder / f"{name}.log", "wb") as log:
                processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT))
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _flower_workers(url: str, auth: tuple[str, ...]) -> dict:
    """The workers Flower lists after asking them afresh."""
    workers = httpx.get(f"{url}/api/workers", auth=auth, params={"refresh": 1}, timeout=30)
    return workers.raise_for_status().json()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthcheck", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
