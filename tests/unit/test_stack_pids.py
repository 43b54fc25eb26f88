"""`ingest up` after a crash: a pid file's process that ended, or is a zombie, is not running."""

import os
import subprocess
import sys

import psutil

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import Settings
from ingest_tasks.ops.stack import Stack

# A parent that never reaps its child: the child, once ended, stays a zombie (not ours).
PARENT = """
import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(60)
"""


def test_a_zombie_in_a_pid_file_is_not_running(tmp_path):
    stack = Stack(Settings(state_dir=tmp_path))
    stack.run_dir.mkdir(parents=True)
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        zombie = int(parent.stdout.readline())
        poll_until(lambda: psutil.Process(zombie).status() == psutil.STATUS_ZOMBIE, 10, "a zombie")
        (stack.run_dir / "bulk.pid").write_text(str(zombie))
        assert stack.pid("bulk") is None
        (stack.run_dir / "bulk.pid").write_text(str(parent.pid))
        assert stack.pid("bulk") == parent.pid
    finally:
        parent.kill()
        parent.wait()
    assert stack.pid("bulk") is None  # killed and reaped


def test_a_pid_given_to_a_later_process_is_not_ours(tmp_path):
    stack = Stack(Settings(state_dir=tmp_path))
    stack.run_dir.mkdir(parents=True)
    (stack.run_dir / "bulk.pid").write_text("1")  # init started long before this file
    assert stack.pid("bulk") == 1
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = stack.run_dir / "stream.pid"
        path.write_text(str(later.pid))
        os.utime(path, (0, psutil.Process(later.pid).create_time() - 10))  # written before it
        assert stack.pid("stream") is None
    finally:
        later.kill()
        later.wait()
