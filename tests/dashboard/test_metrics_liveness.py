"""/metrics under PROMETHEUS_MULTIPROC_DIR (as `make up` runs it) shows the consumer lag of
live processes only: a process that set the gauge and died no longer counts."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SET_LAG = (
    "import sys, time\n"
    "from dashboard.ingest import metrics\n"
    "metrics.CONSUMER_LAG.labels('wallet.events', '0').set(float(sys.argv[1]))\n"
    "print('set', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def _lag_lines(text):
    return [
        line
        for line in text.splitlines()
        if line.startswith('dashboard_ingest_consumer_lag{partition="0",topic="wallet.events"}')
    ]


@pytest.fixture
def multiproc_dir(tmp_path, monkeypatch):
    path = tmp_path / "prometheus"
    path.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    return path


def _process(multiproc_dir, lag, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", SET_LAG, str(lag), str(seconds)],
        cwd=ROOT,
        env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "set"
    return proc


@pytest.mark.django_db
def test_the_lag_gauge_of_a_dead_process_is_not_exported(api_client, multiproc_dir):
    live = _process(multiproc_dir, 10, 60)
    dead = _process(multiproc_dir, 5000, 0)
    try:
        dead.wait(timeout=10)
        assert (multiproc_dir / f"gauge_livemax_{dead.pid}.db").exists()
        response = api_client.get("/metrics")
        assert response.status_code == 200
        # Only the live process's value: the dead one's 5000 (the larger) is gone.
        assert _lag_lines(response.content.decode()) == [
            'dashboard_ingest_consumer_lag{partition="0",topic="wallet.events"} 10.0'
        ]
        assert not (multiproc_dir / f"gauge_livemax_{dead.pid}.db").exists()

        live.kill()
        live.wait(timeout=10)
        time.sleep(0.05)
        assert _lag_lines(api_client.get("/metrics").content.decode()) == []
    finally:
        if live.poll() is None:
            live.kill()
