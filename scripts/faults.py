"""The fault suite: each scenario ends with nothing lost and nothing duplicated.

    nice -n 19 .venv/bin/python scripts/faults.py [--scenario NAME ...] [--settle 300]

Each scenario runs in a process of its own, on a private stack (ingest_tasks.ops.stack.isolate
and private_stack): a Redis server of its own on a free port, started by the Stack with
AOF as in docker-compose, a Chroma server and both pools. It sends documents, injects
its fault while they are processed, waits until every accepted document is committed
(at most `--settle` seconds) and every job has finished, and prints one line: scenario,
submitted, committed, duplicated, lost, seconds, and what the fault did. The counts are
ground truth, read from the registry and the Chroma server (ground_truth.py). Exits 1 if
any scenario lost or duplicated a document, or failed to run. The stacks' logs are kept
under `--logs` (default /tmp/ingest-faults/SCENARIO/).

- bulk_main_killed: the bulk worker's main process SIGKILLed mid-job; its orphaned pool
  children are waited for (and killed after 15 s, as a supervisor's stop would), and the
  pool is started again. Celery's Redis transport redelivers the unacknowledged groups
  after the visibility timeout, set to 10 s here (INGEST_VISIBILITY_TIMEOUT, 3600 s by
  default; time limits 6/8 s).
- stream_child_killed: a stream pool child SIGKILLed while it runs a task (its pid taken
  from `celery inspect active`), three times; late acks redeliver the task at once.
- redis_restart: the private Redis restarted (SIGTERM, AOF) while a producer streams 10
  documents a second; producers retry sending (task_publish_retry_policy for
  INGEST_PUBLISH_RETRY_SECONDS, and a call that still raised is tried again with the same
  version); a submission is accepted when the call returned. Visibility timeout 120 s
  (time limits 80/90 s: a commit lock orphaned by the restart lives 60 s).
- chroma_outage: the Chroma server stopped for 30 s mid-job, stream documents sent
  meanwhile; tasks retry with backoff for INGEST_RETRY_FOR_SECONDS.
- embedding_bursts: a job and a stream embedded by the embedding service (api:wordllama)
  answering 429 past 3 requests/s and a burst of ten 500s, twice (it is restarted mid-run).
- bulk_killed_in_write: issue 21. A 300-document MiniLM job in groups of 8, visibility
  timeout 30 s, time limits 25/20 s, document limit 15 s, restore scans every 1 s; the bulk
  pool (main process and children) SIGKILLed while a group holds the collection's writer's
  turn (inside a store write), and started again at once. The job's summary must equal the
  store, with no failure. bulk_killed_in_write_default_groups: the same with the default
  groups (64 documents, 256 KiB), prefetch and concurrency.
- stream_killed_holding_lock: a stream child SIGKILLed while it holds a document's commit
  lock (its pid read off the lock's owner tag); notes how long the document then took.
- redis_restart_holding_lock: the private Redis restarted while a stream task holds a
  commit lock (kept by the AOF); notes how long the next writer of that document took.
- random_kills: ten jobs of 64 documents, each with the bulk pool (or one busy child of it)
  SIGKILLed at a random moment (seeded: --seed, printed in the notes); after each, the job
  must finish exactly once with a summary equal to the store before the next begins.

A scenario also fails if a job's summary counts a failure, or disagrees with the store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest_tasks.testing.stacks import busy_child

SCENARIOS: dict[str, tuple] = {}  # name -> (its function, the INGEST_* settings of its stack)
QUICK_REDELIVERY = {"visibility_timeout": "10", "task_time_limit": "8",
                    "task_soft_time_limit": "6", "unacked_restore_interval": "1",
                    "unacked_restore_throttle": "1", "document_time_limit": "0",
                    "lock_lease_seconds": "2"}
WORDS = ["harbour", "lantern", "glacier", "orchard", "meridian", "cobalt", "falcon", "quarry",
         "willow", "ember", "lattice", "tundra", "saffron", "beacon", "canyon", "thistle"]


def text(title: str, words: int) -> str:
    """A Markdown document of about `words` words, distinct for its title."""
    seed = sum(map(ord, title))
    body = " ".join(WORDS[(seed + i * i) % len(WORDS)] for i in range(words))
    return f"# {title}\n\n{body}\n"


def scenario(**settings: str):
    """Register a scenario with the settings of its private stack."""
    def register(run):
        SCENARIOS[run.__name__] = (run, settings)
        return run
    return register


@dataclass
class Rig:
    """What a scenario works with: its stack, a client, the ledger of what it sent."""

    stack: object
    client: object
    ledger: object
    folder: Path
    jobs: list[str] = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def job(self, name: str, count: int, words: int = 40, model: str | None = None) -> str:
        """Send a job of `count` new documents; recorded as accepted once it returned."""
        from ingest_tasks.pipeline.sources import discover

        folder = self.folder / name
        folder.mkdir(parents=True)
        for n in range(count):
            (folder / f"{name}-{n:04d}.md").write_text(text(f"{name} {n}", words))
        refs, _ = discover([folder])
        self.ledger.tried(len(refs))
        job_id = self.client.submit_batch([folder], model=model)
        for ref in refs:
            self.ledger.accept(ref)
        self.jobs.append(job_id)
        return job_id

    def stream(self, doc_id: str, words: int = 60, model: str | None = None,
               patience: float = 120.0) -> bool:
        """Stream one document, trying again (same version) until the call returns."""
        from ingest_tasks.pipeline.sources import DocRef

        body = text(doc_id, words)
        version, deadline = time.time_ns(), time.monotonic() + patience
        self.ledger.tried()
        while True:
            try:
                self.client.submit_content(doc_id, body, "note.md", version=version, model=model)
            except Exception as exc:  # noqa: BLE001 - the producer retries whatever failed
                self.notes["producer_errors"] = self.notes.get("producer_errors", 0) + 1
                self.notes["last_producer_error"] = f"{type(exc).__name__}: {exc}"[:120]
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.5)  # a producer's own backoff between tries
                continue
            self.ledger.accept(DocRef.inline(doc_id, body.encode(), "note.md", version))
            return True

    def done(self, job_id: str) -> int:
        """Documents of the job done so far."""
        return self.client.job_status(job_id)["done"]


def children(pid: int) -> list[int]:
    """The pids of a process's children."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    """True if the process exists and is no zombie."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@scenario(embedding_model="all-MiniLM-L6-v2", group_max_docs="16", bulk_prefetch="1",
          **QUICK_REDELIVERY)
def bulk_main_killed(rig: Rig) -> None:
    """SIGKILL the bulk worker's main process mid-job, then start the pool again."""
    from ingest_tasks.core.polling import poll_until

    job_id = rig.job("killed", 320)  # 20 groups
    poll_until(lambda: rig.done(job_id) >= 16, 300, "a first group")
    main = rig.stack.pid("bulk")
    orphans = children(main)
    os.kill(main, signal.SIGKILL)
    rig.notes["done_at_kill"] = rig.done(job_id)
    poll_until(lambda: rig.stack.pid("bulk") is None, 30, "the killed main process gone")
    try:  # pool children notice their parent is gone and exit
        poll_until(lambda: not any(map(alive, orphans)), 15, "the orphaned children")
        rig.notes["orphans_killed"] = 0
    except TimeoutError:  # as a supervisor stopping the unit's cgroup would
        left = [pid for pid in orphans if alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        rig.notes["orphans_killed"] = len(left)
    rig.stack.up(["bulk"], report=lambda line: None)


@scenario(embedding_model="all-MiniLM-L6-v2")
def stream_child_killed(rig: Rig) -> None:
    """SIGKILL the stream pool's child while it runs a task, three times."""
    from ingest_tasks.core.polling import poll_until

    sender = threading.Thread(target=lambda: [rig.stream(f"long-{n:03d}", words=3000)
                                              for n in range(12)])
    sender.start()
    for _ in range(3):
        pid, _task = busy_child(rig.stack, "stream")
        os.kill(pid, signal.SIGKILL)
        poll_until(lambda pid=pid: not alive(pid), 10, "the killed child gone")
        poll_until(lambda: bool(children(rig.stack.pid("stream"))), 30, "a new pool child")
        before = rig.ledger.audit(rig.client.resources)["committed"]
        poll_until(lambda before=before: rig.ledger.audit(rig.client.resources)["committed"]
                   > before + 1, 120, "two more documents committed")
    sender.join()
    rig.notes["killed_mid_task"] = 3


# A commit lock taken when Redis went down outlives the restart (kept by the AOF), but as a
# lease (10 s) given back by its live holder's heartbeat once Redis is back: issue 21's
# short time limits hold.
ISSUE_21 = {"visibility_timeout": "30", "task_time_limit": "25", "task_soft_time_limit": "20",
            "document_time_limit": "15", "unacked_restore_interval": "1",
            "unacked_restore_throttle": "1"}


@scenario(embedding_model="wordllama", **ISSUE_21)
def redis_restart(rig: Rig) -> None:
    """Restart the private Redis while a producer streams 10 documents a second."""
    stop = threading.Event()

    def produce() -> None:
        n, started = 0, time.monotonic()
        while not stop.is_set():
            rig.stream(f"note-{n:04d}")
            n += 1
            time.sleep(max(0.0, started + n / 10 - time.monotonic()))

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(6)  # the fault comes mid-stream: 6 s of traffic before it, 10 s after
    quiet = {"report": lambda line: None}
    started = time.monotonic()
    rig.stack.down(["redis"], **quiet)  # SIGTERM: Redis writes its AOF and exits
    rig.stack.up(["redis"], **quiet)  # the same port and folder: the AOF is loaded
    rig.notes["redis_down_seconds"] = round(time.monotonic() - started, 2)
    time.sleep(10)
    stop.set()
    producer.join()


@scenario(embedding_model="all-MiniLM-L6-v2", group_max_docs="16")
def chroma_outage(rig: Rig) -> None:
    """Stop the Chroma server for 30 s mid-job, streaming documents meanwhile."""
    from ingest_tasks.core.polling import poll_until

    job_id = rig.job("outage", 320)
    poll_until(lambda: rig.done(job_id) >= 16, 300, "a first group")
    quiet = {"report": lambda line: None}
    rig.stack.down(["chroma"], **quiet)
    stopped = time.monotonic()
    rig.notes["done_at_stop"] = rig.done(job_id)
    for n in range(10):
        rig.stream(f"during-outage-{n}")
    time.sleep(max(0.0, stopped + 30 - time.monotonic()))  # the outage lasts 30 s
    rig.notes["done_at_restart"] = rig.done(job_id)
    rig.stack.up(["chroma"], **quiet)
    rig.notes["outage_seconds"] = round(time.monotonic() - stopped, 1)


@scenario(embedding_model="wordllama", group_max_docs="8", embedding_api_batch="8")
def embedding_bursts(rig: Rig) -> None:
    """A job and a stream through an embedding service answering bursts of 429 and 500."""
    import httpx

    from ingest_tasks.core.polling import poll_until
    from ingest_tasks.testing.embed_server import serving

    model, port = "api:wordllama", int(rig.client.settings.embedding_api_url.rsplit(":", 1)[1])
    health = []
    with serving(rig.stack.log_dir, "--rate", "3", "--fail-first", "10", port=port) as url:
        job_id = rig.job("service", 160, model=model)  # 20 groups, a request each
        for n in range(10):
            rig.stream(f"service-stream-{n}", model=model)
        poll_until(lambda: rig.done(job_id) >= 40, 300, "a fifth of the job")
        health.append(httpx.get(f"{url}/health").json())
    with serving(rig.stack.log_dir, "--rate", "3", "--fail-first", "10", port=port) as url:
        for n in range(10, 20):
            rig.stream(f"service-stream-{n}", model=model)
        rig.client.wait_job(job_id, timeout=600)
        poll_until(lambda: rig.ledger.audit(rig.client.resources)["lost"] == 0, 300,
                   "every document committed")
        health.append(httpx.get(f"{url}/health").json())
    rig.notes.update(throttled_429=sum(h["throttled"] for h in health),
                     failed_500=sum(h["failed"] for h in health),
                     requests=sum(h["requests"] for h in health))


def kill_pool(rig: Rig, child: bool = False) -> dict:
    """SIGKILL the bulk pool, main process and children (or one busy child), and start it
    again at once; what was killed and how long `ingest up` took."""
    main = rig.stack.pid("bulk")
    if child:
        pid, _task = busy_child(rig.stack, "bulk", timeout=10)
        os.kill(pid, signal.SIGKILL)
    else:
        os.killpg(main, signal.SIGKILL)
    started = time.monotonic()
    rig.stack.up(["bulk"], report=lambda line: None)
    return {"killed": "a child" if child else "the pool",
            "up_seconds": round(time.monotonic() - started, 1)}


def summary_is_the_store(rig: Rig, job_id: str) -> bool:
    """The finished job's summary: every document committed or unchanged, none failed, and
    the chunks it reports are the ones in the store (the ledger counts a document twice)."""
    summary = rig.client.job_status(job_id).get("summary") or {}
    stored = {doc_id: sum(counts.values()) for doc_id, counts in rig.ledger.stored(
        rig.client.resources).items()}
    reported = {d["doc_id"]: d["chunks"] for d in summary.get("documents", [])}
    return (summary.get("failed") == 0 and len(reported) == summary.get("total")
            == summary.get("committed", 0) + summary.get("unchanged", 0)
            and all(stored.get(doc_id) == chunks for doc_id, chunks in reported.items()))


def killed_in_write(rig: Rig) -> None:
    """SIGKILL the bulk pool while a group holds the writer's turn; start it again at once."""
    from ingest_tasks.core.keys import WRITER_KEY
    from ingest_tasks.core.polling import poll_until

    redis = rig.client.resources.redis
    job_id = rig.job("in-write", 300)
    poll_until(lambda: rig.done(job_id) >= 8, 300, "a first group")
    slot = f"{WRITER_KEY}{rig.client.resources.collection()}:0"
    poll_until(lambda: redis.exists(slot), 300, "a bulk store write", interval=0.001)
    rig.notes.update(kill_pool(rig), done_at_kill=rig.done(job_id))
    rig.notes["turn_held_after_up"] = bool(redis.exists(slot))
    rig.client.wait_job(job_id, timeout=900)
    rig.notes["summary_is_the_store"] = summary_is_the_store(rig, job_id)


@scenario(embedding_model="all-MiniLM-L6-v2", group_max_docs="8", **ISSUE_21)
def bulk_killed_in_write(rig: Rig) -> None:
    """Issue 21: the bulk pool SIGKILLed inside a store write, groups of 8."""
    killed_in_write(rig)


@scenario(embedding_model="all-MiniLM-L6-v2", **ISSUE_21)
def bulk_killed_in_write_default_groups(rig: Rig) -> None:
    """Issue 21 with the default groups, prefetch and concurrency."""
    killed_in_write(rig)


def held_lock(rig: Rig, doc_id: str, words: int = 3000) -> tuple[str, object]:
    """Stream a document and wait until its commit lock is held; the lock's key and owner."""
    from ingest_tasks.core.polling import poll_until
    from ingest_tasks.state import locks

    redis = rig.client.resources.redis
    key = f"ingest:lock:{rig.client.resources.collection()}:{doc_id}"
    threading.Thread(target=rig.stream, args=(doc_id, words), daemon=True).start()
    poll_until(lambda: redis.exists(key), 120, "the commit lock taken", interval=0.001)
    return key, locks.Owner.parse(redis.get(key) or "")


def committed_within(rig: Rig, doc_id: str, since: float, timeout: float = 120) -> float:
    """Seconds from `since` until the ledger's latest version of `doc_id` is committed."""
    from ingest_tasks.core.polling import poll_until
    from ingest_tasks.state import registry

    resources = rig.client.resources

    def committed() -> bool:
        entry = registry.get(resources.redis, resources.collection(), doc_id)
        want = rig.ledger.accepted.get(doc_id)
        return entry is not None and want is not None and entry.version == want.version
    poll_until(committed, timeout, f"{doc_id} committed", interval=0.05)
    return round(time.monotonic() - since, 2)


@scenario(embedding_model="all-MiniLM-L6-v2")
def stream_killed_holding_lock(rig: Rig) -> None:
    """SIGKILL a stream child while it holds a document's commit lock, three times."""
    from ingest_tasks.core.polling import poll_until

    redis, seconds, lease_left, taken_over = rig.client.resources.redis, [], [], []
    for n in range(3):
        doc_id = f"held-{n}"
        key, owner = held_lock(rig, doc_id, words=1000)  # redone in less than a lease
        os.kill(owner.pid, signal.SIGKILL)
        killed = time.monotonic()
        lease_left.append(round(redis.pttl(key) / 1000, 2))  # what a lapse would have cost
        poll_until(lambda key=key, tag=owner.tag(): redis.get(key) != tag, 60,
                   "the dead holder's lock taken over", interval=0.01)
        taken_over.append(round(time.monotonic() - killed, 2))
        seconds.append(committed_within(rig, doc_id, killed))
    rig.notes.update(lease_left_at_kill=lease_left, kill_to_takeover_seconds=taken_over,
                     kill_to_commit_seconds=seconds)


@scenario(embedding_model="all-MiniLM-L6-v2", **ISSUE_21)
def redis_restart_holding_lock(rig: Rig) -> None:
    """Restart Redis while a stream task holds a commit lock; time the next writer."""
    quiet = {"report": lambda line: None}
    seconds = []
    for n in range(2):
        doc_id = f"restart-held-{n}"
        held_lock(rig, doc_id)
        rig.stack.down(["redis"], **quiet)
        rig.stack.up(["redis"], **quiet)
        back = time.monotonic()
        rig.stream(doc_id, words=80)  # the next writer: a newer version of the same document
        seconds.append(committed_within(rig, doc_id, back))
    rig.notes["restart_to_next_commit_seconds"] = seconds


@scenario(embedding_model="all-MiniLM-L6-v2", group_max_docs="8", **QUICK_REDELIVERY)
def random_kills(rig: Rig) -> None:
    """Ten jobs, each with the bulk pool or a busy child SIGKILLed at a random moment."""
    seed = int(os.environ.get("INGEST_FAULTS_SEED") or random.randrange(1 << 30))
    print(f"random_kills: seed {seed}", file=sys.stderr, flush=True)
    chance, rounds = random.Random(seed), []
    rig.notes["seed"] = seed
    from ingest_tasks.core.polling import poll_until

    for n in range(10):
        job_id = rig.job(f"random-{n}", 64)
        # the random moment: once a random share of the job is done, and a moment more
        done, later, child = chance.randrange(0, 57), chance.uniform(0.0, 0.5), chance.random() < 0.3
        poll_until(lambda job_id=job_id, done=done: rig.done(job_id) >= done, 300,
                   f"{done} documents done", interval=0.01)
        time.sleep(later)  # not a wait for anything: part of the random moment
        try:
            kill = {**kill_pool(rig, child=child), "done_at_kill": rig.done(job_id)}
        except TimeoutError:  # the job ended before a child could be caught in a task
            kill = {**kill_pool(rig), "done_at_kill": rig.done(job_id)}
        rig.client.wait_job(job_id, timeout=600)
        audit = rig.ledger.audit(rig.client.resources)
        rounds.append({**kill, "lost": audit["lost"], "duplicated": audit["duplicated"],
                       "summary_is_the_store": summary_is_the_store(rig, job_id)})
    rig.notes["rounds"] = rounds
    rig.notes["summary_is_the_store"] = all(r["summary_is_the_store"] for r in rounds)
    rig.notes["every_round_exactly_once"] = all(not r["lost"] and not r["duplicated"]
                                                for r in rounds)


def settle(rig: Rig, seconds: float) -> None:
    """Wait until every job has finished and every accepted document is committed."""
    from ingest_tasks.core.polling import poll_until

    def finished() -> bool:
        states = [rig.client.job_status(job_id) for job_id in rig.jobs]
        return (all(state["status"] != "running" for state in states)
                and rig.ledger.audit(rig.client.resources)["lost"] == 0)

    try:
        poll_until(finished, seconds, "every document committed", interval=1.0)
    except TimeoutError:
        rig.notes["settled"] = False
    for job_id in rig.jobs:
        state = rig.client.job_status(job_id)
        rig.ledger.summaries.append(state.get("summary") or {"documents": []})
        rig.notes.setdefault("job_status", []).append(state["status"])


def run_one(name: str, settle_seconds: float, logs: Path) -> dict:
    """One scenario on a private stack of its own; its counts and notes."""
    from benchkit import isolate, private_stack
    from ground_truth import Ledger

    from ingest_tasks.testing.stacks import free_port

    work, own = SCENARIOS[name]
    settings = {"embedding_api_url": f"http://127.0.0.1:{free_port()}", **own}
    state = isolate(f"redis://127.0.0.1:{free_port()}/0", **settings)
    from ingest_tasks.interfaces.client import IngestClient

    started = time.monotonic()
    with private_stack(state, parts=["redis", "chroma", "stream", "bulk"]) as stack:
        client = IngestClient()
        rig = Rig(stack, client, Ledger(client.settings, client.settings.embedding_model),
                  state / "docs")
        model = "api:wordllama" if name == "embedding_bursts" else None
        rig.ledger.model = model or client.settings.embedding_model
        try:
            work(rig)
            settle(rig, settle_seconds)
            counts = rig.ledger.audit(client.resources)
        finally:  # the stack's logs outlive its state folder
            shutil.copytree(state / "logs", logs / name, dirs_exist_ok=True)
    examples = counts.pop("examples")
    if examples:
        rig.notes["lost_or_duplicated"] = examples
    return {"scenario": name, **counts, "seconds": round(time.monotonic() - started, 1),
            "notes": rig.notes}


def line(result: dict) -> str:
    """The one line a scenario prints."""
    keys = ("submitted", "committed", "duplicated", "lost")
    return (f"{result['scenario']:<20} " + " ".join(f"{k}={result.get(k, '?')}" for k in keys)
            + f" seconds={result.get('seconds', '?')} {json.dumps(result.get('notes', {}))}")


def main() -> int:
    """Run the scenarios, each in a process of its own; one line each; 1 if any failed."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                      help="run only this one (repeatable); default: all")
    args.add_argument("--settle", type=float, default=300.0,
                      help="seconds to wait for every document after the fault")
    args.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "ingest-faults",
                      help="where each scenario's stack logs are kept")
    args.add_argument("--seed", type=int, help="random_kills' seed (default: a new one, printed)")
    args.add_argument("--run", help=argparse.SUPPRESS)  # inside the scenario's own process
    opts = args.parse_args()
    if opts.seed is not None:
        os.environ["INGEST_FAULTS_SEED"] = str(opts.seed)
    if opts.run:
        print(json.dumps(run_one(opts.run, opts.settle, opts.logs)))
        return 0
    failed = False
    for name in opts.scenario or list(SCENARIOS):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, __file__, "--run", name, "--settle",
                               str(opts.settle), "--logs", str(opts.logs)],
                              stdout=subprocess.PIPE, text=True, check=False)
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            result = {"scenario": name, "seconds": round(time.monotonic() - started, 1),
                      "notes": {"error": f"exited {proc.returncode}, see stderr"}}
        print(line(result), flush=True)
        notes = result.get("notes", {})
        failed |= (proc.returncode != 0 or result.get("lost") != 0
                   or result.get("duplicated") != 0 or notes.get("summary_is_the_store") is False
                   or notes.get("every_round_exactly_once") is False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
