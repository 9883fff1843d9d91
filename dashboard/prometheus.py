"""The multiprocess side of /metrics: gauges of processes that died are dropped.

With PROMETHEUS_MULTIPROC_DIR set (`make up`, the Docker image), every process
writes its metrics to files there and /metrics merges them. Gauges whose value
only means something while their process runs (`live*` multiprocess modes, e.g.
the consumer lag) are removed for a process that is gone: by gunicorn when a
worker exits and at its start (config/gunicorn.conf.py), by `consume_events` at
start and exit, and here before every scrape, for whatever died without telling
(SIGKILL).
Counters and histograms of dead processes are kept: they are cumulative.
"""

import glob
import os
import re

from prometheus_client import multiprocess

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def multiproc_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def prune_dead_processes(path=None):
    """Remove the live-gauge files of processes that no longer exist (on this host:
    the directory is never shared between machines or containers). Returns their pids."""
    path = path or multiproc_dir()
    if not path or not os.path.isdir(path):
        return []
    dead = set()
    for file in glob.glob(os.path.join(path, "gauge_live*.db")):
        match = _LIVE_GAUGE_FILE.match(os.path.basename(file))
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        try:
            multiprocess.mark_process_dead(pid, path)
        except FileNotFoundError:  # removed by another process meanwhile
            pass
    return sorted(dead)


def metrics_view(request):
    """django_prometheus's /metrics, after dropping the gauges of dead processes."""
    from django_prometheus.exports import ExportToDjangoView

    prune_dead_processes()
    return ExportToDjangoView(request)
