"""The Kafka consumer loop: poll a batch, ingest it in one DB transaction, then commit offsets.

Order of a batch, and why it is crash safe (docs/ingestion.md):

1. `consume(num_messages=...)` a batch (auto commit and auto offset store off);
2. `prepare_wire`, then `apply_prepared` in ONE database transaction
   (aggregates + seen ids + dead letters + dirty scopes + agents); on any failure it is retried with
   backoff, the same messages, until it succeeds or we are told to stop;
3. dead letters (already whole in the table, step 2) are copied to the DLQ
   topic: sized to fit (a too large one goes truncated, with a `truncated`
   header), transient errors retried for a bounded time, any other error leaves
   the row marked `failed` and the batch goes on (dashboard/ingest/dead_letters.py);
4. the offsets (last + 1 per partition) are committed synchronously.

A crash after 2 and before 4 redelivers the batch: the seen-id store drops every
event of it, so nothing is counted twice, and a dead letter is recorded once
(same position, same payload hash); a crash before 2 commits nothing.
"""

import json
import logging
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from django.db import connection

from dashboard.ingest import metrics, workers
from dashboard.ingest.dead_letters import DeadLetterPublisher
from dashboard.ingest.heartbeat import Heartbeat
from dashboard.ingest.kafka import committing_consumer_config
from dashboard.ingest.services import WireBatch

log = logging.getLogger("dashboard.ingest.consumer")

# Commit errors meaning "these partitions are no longer ours": give the
# offsets up, the new owner re-reads them and the seen-id store drops them.
_LOST_OWNERSHIP = {
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError._ASSIGNMENT_LOST,
}


# How long a consumer whose worker process died may take to stop in order.
BROKEN_EXIT_AFTER_S = 30.0


def _exit_broken():
    log.error("a worker process died and stopping took over %ss: exiting", BROKEN_EXIT_AFTER_S)
    logging.shutdown()
    os._exit(3)


class EventConsumer:
    """A member of the ingestion consumer group (one per process)."""

    def __init__(
        self,
        *,
        bootstrap_servers,
        topics,
        group_id,
        dlq_topic,
        batch_size=5000,
        until_idle=None,
        max_messages=None,
        poll_timeout=0.5,
        session_timeout_ms=45000,
        heartbeat_interval_ms=3000,
        max_poll_interval_ms=300000,
        max_backoff=30.0,
        processes=1,
        dlq_max_message_bytes=1_000_000,
        dlq_retry_seconds=60.0,
        heartbeat=True,
    ):
        self.topics = list(topics)
        self.dlq_topic = dlq_topic
        self.batch_size = batch_size
        self.until_idle = until_idle
        self.max_messages = max_messages
        self.poll_timeout = poll_timeout
        self.max_backoff = max_backoff
        # Batches are prepared and written by this many worker processes
        # (dashboard/ingest/workers.py); this process keeps the Kafka side.
        self.processes = max(1, processes)
        self._stop_event = None  # tells worker processes to give up retrying
        self._broken = False
        self._watchdog = None  # a Timer that exits the process if stopping hangs
        self._stop = False
        self._assigned = set()
        self._ever_assigned = False
        self._joined_at = None
        self._worker = None  # the pool of worker processes
        # Batches being written, oldest first: (future, offsets, size, started).
        self._inflight = deque()
        self._pending = {}  # (topic, partition) -> next offset, DB-committed, not yet in Kafka
        self._lag = {}  # (topic, partition) -> consumer lag (statistics callback)
        self._worker_pids = []
        self.stats = {
            "messages": 0,
            "counted": 0,
            "duplicates": 0,
            "dead_letters": 0,
            "dead_letters_truncated": 0,
            "dead_letters_unpublished": 0,
            "batches": 0,
            "db_retries": 0,
            "seconds": {},  # time per step: wait (here), prepare and apply steps (in the workers)
            "first_message_at": None,
            "last_commit_at": None,
        }
        self.consumer = Consumer(
            committing_consumer_config(
                bootstrap_servers=bootstrap_servers,
                group_id=group_id,
                client_id=f"dashboard-ingest-{group_id}",
                session_timeout_ms=session_timeout_ms,
                heartbeat_interval_ms=heartbeat_interval_ms,
                max_poll_interval_ms=max_poll_interval_ms,
                **{
                    "statistics.interval.ms": 15000,
                    "stats_cb": self._on_stats,
                    "error_cb": self._on_error,
                    "queued.max.messages.kbytes": 262144,
                    "fetch.max.bytes": 52428800,
                },
            )
        )
        self.dlq = DeadLetterPublisher(
            bootstrap_servers=bootstrap_servers,
            topic=dlq_topic,
            max_message_bytes=dlq_max_message_bytes,
            retry_seconds=dlq_retry_seconds,
            max_backoff=max_backoff,
            should_stop=lambda: self._stop,
            error_cb=self._on_error,
        )
        self.heartbeat = None
        if heartbeat:  # liveness in Redis (dashboard/ingest/heartbeat.py); never stops ingestion
            self.heartbeat = Heartbeat(group=group_id, topics=self.topics)

    # ------------------------------------------------------------ lifecycle
    def request_stop(self, *_):
        """Finish the current batch (DB + offsets), then leave the group."""
        if not self._stop:
            log.info("stop requested: finishing the current batch")
        self._stop = True
        if self._stop_event is not None:
            self._stop_event.set()

    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self):
        """Consume until stopped, idle (until_idle) or max_messages; returns the stats dict."""
        log.info("consuming %s (batch %s)", ",".join(self.topics), self.batch_size)
        workers.tune_gc()
        self._beat(state="starting", force=True)
        self._start_processes()
        self.consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        started = last_activity = time.monotonic()
        fetched = 0
        try:
            while not self._stop:
                self._beat()
                limit = self.batch_size
                if self.max_messages is not None:
                    remaining = self.max_messages - fetched
                    if remaining <= 0:
                        break
                    limit = min(limit, remaining)
                messages = self.consumer.consume(num_messages=limit, timeout=self.poll_timeout)
                wire, offsets = self._usable(messages)
                if wire is not None:
                    fetched += len(wire.values)
                    self._submit(wire, offsets)
                    last_activity = time.monotonic()
                    continue
                if getattr(self._worker, "_broken", False):
                    self._worker_died()  # a worker process died while idle
                    break
                # Nothing new: make sure the last batch is committed, DB and Kafka.
                self._finish_inflight()
                if self._pending:
                    self._commit_pending()
                if self._joined_at and self._joined_at > last_activity:
                    last_activity = self._joined_at
                if self.until_idle is not None:
                    now = time.monotonic()
                    if self._ever_assigned:
                        idle = now - last_activity >= self.until_idle
                    else:  # still joining the group: allow for a slow join
                        idle = now - started >= max(self.until_idle, 30)
                    if idle:
                        log.info("idle for %.1fs: stopping", self.until_idle)
                        break
        finally:
            self.close()
            if self._watchdog is not None:
                self._watchdog.cancel()
        if self._broken:
            raise RuntimeError(
                "an ingest worker process died: stopped without committing the offsets of "
                "its batch or any later one (they are re-read, and deduplicated, on restart)"
            )
        return self.stats

    def close(self):
        """Finish the batch in flight, commit what is pending, leave the group, flush the DLQ."""
        self._beat(state="stopping", force=True)
        try:
            self._finish_inflight()
        finally:
            self._stop_worker()
        if not self._ever_assigned:
            # Tansu can wedge a group if a member leaves mid-join: wait for it.
            deadline = time.monotonic() + 15
            while not self._ever_assigned and time.monotonic() < deadline:
                self.consumer.consume(num_messages=1, timeout=0.2)  # not committed: re-read later
        self._commit_pending()
        try:
            self.consumer.close()
        except KafkaException as exc:
            log.warning("consumer close: %s", exc)
        self.dlq.close(10)
        if self.heartbeat is not None:
            try:
                self.heartbeat.stop()
            except Exception:  # liveness reporting never stops anything
                log.debug("heartbeat stop failed", exc_info=True)
        log.info("stopped: %s", json.dumps(self.stats, default=str))

    def _beat(self, state="running", force=False):
        """The liveness heartbeat (rate-limited inside; never raises)."""
        if self.heartbeat is None:
            return
        try:
            lag = {}
            for (topic, _), n in list(self._lag.items()):
                if n >= 0:
                    lag[topic] = lag.get(topic, 0) + n
            self.heartbeat.beat(
                assigned=set(self._assigned),
                lag=lag or None,
                last_commit_at=self.stats["last_commit_at"],
                workers=list(self._worker_pids),
                state=state,
                force=force,
            )
        except Exception:  # Redis down, a bug: ingestion goes on
            log.debug("heartbeat failed", exc_info=True)

    def _start_processes(self):
        """Spawn the worker processes and wait until each has set Django up, so the
        first batch does not wait for interpreter start-up."""
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._stop_event = ctx.Event()
        started = ctx.Barrier(self.processes)
        self._worker = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=ctx,
            initializer=workers.init_worker,
            # This pid: a worker whose parent is already another exits at once (it
            # also dies with this process: PR_SET_PDEATHSIG, workers.init_worker).
            initargs=(connection.settings_dict["NAME"], self._stop_event, started, os.getpid()),
        )
        ready = [self._worker.submit(workers.ready) for _ in range(self.processes)]
        deadline = time.monotonic() + 150
        # A slow start (a loaded machine) still shows as a live, starting consumer.
        while futures_wait(ready, timeout=1).not_done:
            if time.monotonic() > deadline:
                raise FuturesTimeout("ingest worker processes did not start within 150 s")
            self._beat(state="starting")
        pids = {f.result() for f in ready}
        self._worker_pids = sorted(pids)
        log.info("%d ingest worker processes ready (pids %s)", len(pids), self._worker_pids)

    def _stop_worker(self):
        if self._worker is None:
            return
        if self._broken:
            # A worker died: the batches of the others will not be committed
            # either (their offsets stay put), so they are killed rather than
            # waited for (a join on a broken pool can hang for minutes).
            self._stop_event.set()
            for pid in self._worker_pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._worker.shutdown(wait=not self._broken, cancel_futures=True)
        self._worker = None
        self._worker_pids = []

    # ------------------------------------------------------------ batch
    def _usable(self, messages):
        """Messages -> (WireBatch of the usable ones or None, {(topic, partition): next offset}).

        Written as comprehensions (C-driven loops): this runs for every message."""
        good = [m for m in messages if m.error() is None]
        if len(good) != len(messages):
            for m in messages:
                err = m.error()
                if err is None or err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise KafkaException(err)
                log.warning("consume error: %s", err)
        tps = [(m.topic(), m.partition()) for m in good]
        if not self._assigned.issuperset(tps):
            # A message fetched before a revoke, of a partition no longer ours:
            # the new owner reads it; counting it here would be harmless (dedupe)
            # but committing its offset would move someone else's position.
            keep = [tp in self._assigned for tp in tps]
            good = [m for m, k in zip(good, keep, strict=True) if k]
            tps = [tp for tp, k in zip(tps, keep, strict=True) if k]
        if not good:
            return None, {}
        offsets_ = [m.offset() for m in good]
        offsets = {}
        for tp, offset in zip(tps, offsets_, strict=True):
            if offset >= offsets.get(tp, -1):
                offsets[tp] = offset + 1
        topics = sorted({t for t, _ in offsets})
        index = {t: i for i, t in enumerate(topics)}
        wire = WireBatch(
            topics=topics,
            values=[m.value() or b"" for m in good],
            topic_ix=[index[t] for t, _ in tps],
            partitions=[p for _, p in tps],
            offsets=offsets_,
            keys=[m.key() for m in good],
        )
        return wire, offsets

    def _submit(self, wire, offsets):
        """Hand a batch to a worker process, which prepares and writes it."""
        started = time.monotonic()
        if self.stats["first_message_at"] is None:
            self.stats["first_message_at"] = time.time()
        # Up to 2 batches per worker process are in flight at once, each in its
        # own transaction on its worker's connection; offsets are still
        # committed strictly in order.
        while len(self._inflight) >= 2 * self.processes:
            self._finish_oldest()
        try:
            future = self._worker.submit(workers.prepare_and_write, wire)
        except BrokenProcessPool:
            self._worker_died()
            return
        self._inflight.append((future, offsets, len(wire.values), started))

    def _result(self, future):
        """A batch's IngestResult, or None if it was not written: stopped mid-retry,
        or its worker process died (which breaks the pool)."""
        try:
            return future.result()
        except BrokenProcessPool:
            self._worker_died()
            return None

    def _worker_died(self):
        if not self._broken:
            log.error("an ingest worker process died: stopping without committing")
            # Last resort: if the orderly stop hangs (the broker, a join), the
            # process exits anyway, so its supervisor restarts it.
            self._watchdog = threading.Timer(BROKEN_EXIT_AFTER_S, _exit_broken)
            self._watchdog.daemon = True
            self._watchdog.start()
        self._broken = self._stop = True

    def _finish_inflight(self):
        """Wait for every batch being written, committing their offsets in order."""
        while self._inflight:
            self._finish_oldest()

    def _finish_oldest(self):
        """Wait for the oldest batch being written; then DLQ topic, then offsets (in that order)."""
        future, offsets, size, started = self._inflight.popleft()
        waited = time.monotonic()
        result = self._result(future)
        self._add_seconds("wait", time.monotonic() - waited)
        if result is None or not self.dlq.publish(result.dead_letters):
            # Stopping before this batch is fully out (DB, or the DLQ topic): its
            # offsets, and those of the later batches, must not move; all of
            # them are re-read next time (and deduplicated).
            for later, *_ in self._inflight:
                self._result(later)
            self._inflight.clear()
            self._stop = True
            return
        for tp, nxt in offsets.items():
            if nxt > self._pending.get(tp, -1):
                self._pending[tp] = nxt
        self._commit_pending()
        elapsed = time.monotonic() - started
        s = self.stats
        s["messages"] += size
        s["counted"] += result.counted
        s["duplicates"] += result.duplicates
        s["dead_letters"] += len(result.dead_letters)
        s["dead_letters_truncated"] += self.dlq.last["truncated"]
        s["dead_letters_unpublished"] += self.dlq.last["failed"]
        s["batches"] += 1
        if result.db_retries:
            s["db_retries"] += result.db_retries
            metrics.DB_RETRIES.inc(result.db_retries)
        for step, seconds in result.timings.items():
            self._add_seconds(step, seconds)
        metrics.BATCH_SIZE.observe(size)
        metrics.BATCH_SECONDS.observe(elapsed)
        metrics.COUNTED.inc(result.counted)
        if result.duplicates:
            metrics.DUPLICATES.inc(result.duplicates)
        for (topic, etype), n in result.by_topic_type.items():
            metrics.EVENTS.labels(topic, etype).inc(n)
        for d in result.dead_letters:
            metrics.DEAD_LETTERS.labels(d.reason).inc()
        log.debug(
            "batch of %d: counted %d, duplicates %d, dead letters %d in %.3fs",
            size,
            result.counted,
            result.duplicates,
            len(result.dead_letters),
            elapsed,
        )

    def _add_seconds(self, step, seconds):
        bucket = self.stats["seconds"]
        bucket[step] = round(bucket.get(step, 0.0) + seconds, 4)

    # ------------------------------------------------------------ offsets
    def _commit_pending(self, only=None):
        if not self._pending:
            return True
        items = [(tp, off) for tp, off in self._pending.items() if only is None or tp in only]
        if not items:
            return True
        offsets = [TopicPartition(t, p, off) for (t, p), off in items]
        try:
            done = self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            err = exc.args[0]
            metrics.COMMIT_FAILURES.inc()
            if err.code() in _LOST_OWNERSHIP:
                log.warning("offset commit refused (%s): partitions moved, giving them up", err)
                for tp, _ in items:
                    self._pending.pop(tp, None)
            else:
                log.warning("offset commit failed (%s): will retry", err)
            return False
        failed = [tp for tp in done or [] if tp.error is not None]
        for tp, off in items:
            if self._pending.get(tp) == off:
                del self._pending[tp]
        if failed:
            metrics.COMMIT_FAILURES.inc(len(failed))
            log.warning("offset commit failed for %s", failed)
        self.stats["last_commit_at"] = time.time()
        return True

    # ------------------------------------------------------------ callbacks
    def _on_assign(self, consumer, partitions):
        self._assigned |= {(p.topic, p.partition) for p in partitions}
        self._ever_assigned = True
        self._joined_at = time.monotonic()
        log.info("assigned %s", sorted(self._assigned))
        self._beat(force=True)

    def _on_revoke(self, consumer, partitions):
        revoked = {(p.topic, p.partition) for p in partitions}
        # Write the batch in flight and commit its offsets (and any whose commit
        # failed) before we let the partitions go.
        self._finish_inflight()
        self._commit_pending(only=revoked)
        self._assigned -= revoked
        for tp in revoked:
            self._pending.pop(tp, None)
            self._lag.pop(tp, None)
        log.info("revoked %s", sorted(revoked))
        self._beat(force=True)

    def _on_lost(self, consumer, partitions):
        lost = {(p.topic, p.partition) for p in partitions}
        self._assigned -= lost
        for tp in lost:
            self._pending.pop(tp, None)
            self._lag.pop(tp, None)
        log.warning("lost %s (the new owner re-reads them; duplicates are dropped)", sorted(lost))
        self._beat(force=True)

    def _on_error(self, err):
        log.warning("kafka: %s", err)

    def _on_stats(self, raw):
        try:
            stats = json.loads(raw)
            for topic, t in stats.get("topics", {}).items():
                for pid, p in t.get("partitions", {}).items():
                    if pid == "-1" or (topic, int(pid)) not in self._assigned:
                        continue
                    lag = p.get("consumer_lag", -1)
                    metrics.CONSUMER_LAG.labels(topic, pid).set(lag)
                    self._lag[(topic, int(pid))] = lag
        except Exception:  # metrics must never break consumption
            log.debug("bad stats payload", exc_info=True)
