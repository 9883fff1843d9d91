"""Ingest worker processes never outlive their consumer (a real `consume_events`, SIGKILLed)."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.timeout(180)]


def _running(pid):
    """True while `pid` exists and is not a zombie (an orphan's zombie waits for init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _children(pid):
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _start_consumer(topic, log):
    """A real `consume_events --processes 2` -> (process, worker pids) once its workers are up."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LOG_LEVEL": "INFO",
    }
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "consume_events", "--processes", "2",
             "--topics", topic, "--group-id", f"procs-{uuid.uuid4().hex[:10]}"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    workers = []
    deadline = time.monotonic() + 120
    while not workers and time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        found = re.search(r"worker processes ready \(pids \[([\d, ]+)\]\)", log.read_text())
        if found:
            workers = [int(p) for p in found.group(1).split(",")]
        time.sleep(0.2)
    assert len(workers) == 2, log.read_text()
    return proc, workers


def _assert_gone_within(workers, seconds):
    deadline = time.monotonic() + seconds
    while any(_running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _running(p)], "workers outlived their consumer"


def _kill_all(proc, workers):
    """Never leave a process behind, even when the test fails."""
    if proc.poll() is None:
        proc.kill()
    for p in workers:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkilled_consumer_takes_its_worker_processes_with_it(
    transactional_db, make_topic, tmp_path
):
    topic = make_topic("procs", 2)
    log = tmp_path / "consumer.log"
    proc, workers = _start_consumer(topic, log)
    try:
        assert set(workers) <= set(_children(proc.pid))
        assert all(_running(p) for p in workers)

        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        _assert_gone_within(workers, 5)
    finally:
        _kill_all(proc, workers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_consumer_whose_worker_is_killed_exits_so_its_supervisor_restarts_it(
    transactional_db, make_topic, tmp_path
):
    """A dead worker breaks the pool: the consumer stops without committing and exits
    non-zero within seconds (it does not wait for the other workers, nor hang)."""
    topic = make_topic("procs", 2)
    log = tmp_path / "consumer.log"
    proc, workers = _start_consumer(topic, log)
    try:
        os.kill(workers[0], signal.SIGKILL)
        rc = proc.wait(timeout=60)
        assert rc != 0, log.read_text()
        assert "an ingest worker process died" in log.read_text()
        _assert_gone_within(workers, 5)
    finally:
        _kill_all(proc, workers)


def test_a_worker_started_after_its_parent_died_exits_at_once():
    """The race PR_SET_PDEATHSIG cannot cover: the parent died before the prctl."""
    code = (
        "from dashboard.ingest.workers import die_with_parent\n"
        "die_with_parent(os.getppid() + 1_000_000)\n"  # not our parent: it is gone
        "print('still running')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import os\n" + code],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "still running" not in done.stdout
    ok = subprocess.run(
        [sys.executable, "-c", "import os\n" + code.replace(" + 1_000_000", "")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0 and "still running" in ok.stdout
