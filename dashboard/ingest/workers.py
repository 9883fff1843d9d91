"""Writing a batch, with retries, in the consumer's own threads or in ingest worker processes.

Parsing, validating and pre-aggregating is CPython work that holds the GIL, so
one process tops out at one core. With `processes` > 0 the consumer keeps the
Kafka side (fetch, dead-letter topic, offsets) and hands each batch, as a
pickled WireBatch, to a pool of worker processes; each worker prepares AND
writes the batch on its own database connection and returns the IngestResult.
The consumer still commits offsets strictly in batch order, after the batch's
database commit, so the guarantee of docs/ingestion.md is unchanged.

Worker processes are spawned (not forked: the consumer has librdkafka threads)
and ignore SIGINT/SIGTERM: the consumer is the one that stops, finishing the
batches in flight first. A worker that dies breaks the pool: the consumer stops
without committing that batch or any later one (they are re-read on restart).

Workers never outlive their consumer: each asks Linux for SIGKILL when its parent
dies (PR_SET_PDEATHSIG), and one whose parent is already gone when it starts
exits at once. (A worker killed mid-batch rolls its transaction back: its
offsets were not committed, the batch is re-read and deduplicated.)
"""

import ctypes
import gc
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime

log = logging.getLogger("dashboard.ingest.workers")

MAX_BACKOFF = 30.0


def write_with_retry(prepared, apply, *, should_stop, max_backoff=MAX_BACKOFF):
    """apply(prepared) until it succeeds -> IngestResult (its db_retries set), or None if
    asked to stop first. Each failure rolled back the whole batch, so the same
    prepared batch is simply retried, with backoff."""
    from django.db import close_old_connections, connection

    delay = 0.5
    failures = 0
    while True:
        try:
            result = apply(prepared)
        except Exception as exc:
            # Database down, deadlock, bug: the transaction rolled back.
            failures += 1
            log.warning("batch of %d failed (%s); retrying in %.1fs", prepared.received, exc, delay)
            if failures == 1 or delay >= max_backoff:
                log.exception("ingest failure")
            try:
                connection.close()
            except Exception:  # already broken: nothing left to close
                log.debug("closing the broken connection", exc_info=True)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                if should_stop():
                    return None
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            if should_stop():
                return None
            close_old_connections()
            delay = min(delay * 2, max_backoff)
        else:
            result.db_retries = failures
            return result


def tune_gc():
    """A batch allocates several tracked objects per event, which CPython's default
    thresholds (700) would have the collector rescan many times per batch, along
    with every object of Django's start-up. Those are frozen out of collection
    and young objects collected every 50k allocations instead (measured: about a
    third of the per-event CPU of validation went to the collector)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


# ------------------------------------------------------------ worker process side
_stop_event = None
_started = None  # a Barrier of all the workers (see `ready`)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid, sig=signal.SIGKILL):
    """Have the kernel send `sig` to this process when its parent dies (Linux), and
    exit now if the parent is already gone (the race: it died before the prctl).
    Returns False where prctl is unavailable (not Linux): only the check then."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
            if not armed:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError):
            log.warning("prctl unavailable: a worker may outlive its consumer", exc_info=True)
    if parent_pid is not None and os.getppid() != parent_pid:
        # Re-parented already (to init or a subreaper): the consumer is dead.
        os._exit(1)
    return armed


def init_worker(database_name, stop_event, started, parent_pid=None):
    """Initializer of a worker process: dies with the consumer (`parent_pid`), Django
    on the consumer's database, signals left to the consumer."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import django

    django.setup()
    from django.db import connections

    # The consumer's database, even where it differs from settings (the test database).
    connections["default"].settings_dict["NAME"] = database_name
    global _stop_event, _started
    _stop_event, _started = stop_event, started
    tune_gc()


def ready():
    """Returns this worker's pid once EVERY worker has started and set Django up: one
    such task per worker, each held at the barrier, so each runs on its own worker."""
    import os

    _started.wait(timeout=120)
    return os.getpid()


def prepare_and_write(wire):
    """(worker process) WireBatch -> IngestResult, or None when stopping mid-retry."""
    from dashboard.ingest.services import apply_prepared, prepare_wire

    started = time.perf_counter()
    prepared = prepare_wire(wire, now=datetime.now(UTC))
    prepare_seconds = time.perf_counter() - started
    result = write_with_retry(prepared, apply_prepared, should_stop=_stop_event.is_set)
    if result is not None:
        result.timings["prepare"] = prepare_seconds
    return result
