"""Gunicorn settings shared by the local stack (scripts/stack.sh, under supervisord)
and the Docker image; the bind address is given on the command line.

    gunicorn -c config/gunicorn.conf.py config.wsgi:application --bind HOST:PORT
"""

import os

# 16 threads per worker: each open Transactions page holds one for its
# server-sent-events stream (up to STREAM_CONNECTION_S, mostly waiting on Redis).
workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "16"))
worker_class = "gthread"
timeout = 60
limit_request_line = 8190
accesslog = "-"


def on_starting(server):
    """Gauges of processes gone since the last run (a restarted container keeps its
    PROMETHEUS_MULTIPROC_DIR) are dropped before new pids can reuse their numbers."""
    from dashboard.prometheus import prune_dead_processes

    prune_dead_processes()


def child_exit(server, worker):
    """A worker that exits (restarted, killed, timed out) takes its live gauges with it
    (the /metrics of PROMETHEUS_MULTIPROC_DIR would show its last values for ever)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, path)
