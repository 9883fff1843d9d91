"""The dead-letter topic: a copy of each dead letter, published after its batch's DB commit.

The table (DeadLetter) is the record of a dead letter: written whole, in the
batch's own transaction, before anything is published or any offset moves. The
copy on the DLQ topic is for consumers of that topic, and it never stops
ingestion:

- sized before producing: a letter whose payload, key and headers would not fit
  the producer's `message.max.bytes` (KAFKA_DLQ_MAX_MESSAGE_BYTES) goes out
  truncated, with a `truncated: <original size>` header (and `payload_sha256` to
  find the whole row); a broker that still refuses it as too large gets a copy cut
  to SMALL_COPY_BYTES, once;
- only transient errors are retried (broker unreachable, timed out, leader
  moving: `KafkaError.retriable()`, or the client's own transport codes), with
  backoff, for at most `retry_seconds`; a fatal producer is replaced;
- anything else (too large, invalid, unknown topic, not authorized), or a
  transient error past the bound, leaves that letter `failed` in the table with
  the error, logged and counted (`dashboard_ingest_dead_letter_publish_failures`),
  and the batch goes on.

The outcome of each letter is written back to its row (`publication`,
`publish_error`) in one statement per batch.
"""

import hashlib
import logging
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from django.db import close_old_connections, connection
from prometheus_client import Counter

from dashboard.ingest.choices import DeadLetterPublication

log = logging.getLogger("dashboard.ingest.dead_letters")

PUBLISH_FAILURES = Counter(
    "dashboard_ingest_dead_letter_publish_failures",
    "Dead letters left off the DLQ topic (kept in the table), by Kafka error.",
    ["error"],
)
TRUNCATED = Counter(
    "dashboard_ingest_dead_letters_truncated",
    "Dead letters published truncated to fit the DLQ topic (whole in the table).",
)

TRUNCATED_HEADER = "truncated"
# Room for what librdkafka and the broker add around key, value and headers (record
# and batch framing: well under this).
FRAMING_BYTES = 512
# What a copy is cut to when the broker refuses a copy sized to the producer's limit
# (a topic whose max.message.bytes is lower than the producer's).
SMALL_COPY_BYTES = 65536
# A key longer than this share of the limit is cut to KEY_KEEP bytes (header `key_truncated`).
KEY_SHARE = 4
KEY_KEEP = 1024
# A stop request (SIGTERM) lets a healthy broker take this long to confirm a batch's
# copies (its offsets then move as usual); it cuts short only slower deliveries and
# the retries of transient errors.
STOP_GRACE_SECONDS = 5.0

# Errors no retry can cure: this copy is never going to be accepted as it is.
_PERMANENT = {
    KafkaError.MSG_SIZE_TOO_LARGE,
    KafkaError.INVALID_MSG,
    KafkaError.INVALID_MSG_SIZE,
    KafkaError.RECORD_LIST_TOO_LARGE,
    KafkaError.INVALID_RECORD,
    KafkaError.INVALID_REQUIRED_ACKS,
    KafkaError.TOPIC_EXCEPTION,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.POLICY_VIOLATION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._INVALID_ARG,
}
# Client-side codes of a broker that is (for now) out of reach.
_TRANSIENT = {
    KafkaError._MSG_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
    KafkaError._QUEUE_FULL,
    KafkaError._PURGE_QUEUE,
    KafkaError._PURGE_INFLIGHT,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NETWORK_EXCEPTION,
    KafkaError.BROKER_NOT_AVAILABLE,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
}

TRANSIENT, FATAL, PERMANENT = "transient", "fatal", "permanent"


def classify(err):
    """A KafkaError -> TRANSIENT (retry later), FATAL (replace the producer, then retry)
    or PERMANENT (give this copy up)."""
    if err.fatal():
        return FATAL
    code = err.code()
    if code in _PERMANENT:
        return PERMANENT
    if code in _TRANSIENT or err.retriable():
        return TRANSIENT
    return PERMANENT


def payload_sha256(payload):
    """Hex SHA-256 of a payload: with the Kafka position, a dead letter's identity."""
    return hashlib.sha256(payload).hexdigest()


def _headers_size(headers):
    # Each header: varint lengths (at most 5 bytes each) + key + value.
    return sum(10 + len(k) + len(v or b"") for k, v in headers)


@dataclass
class _Copy:
    """One letter's message for the DLQ topic, and how its publication went."""

    letter: object  # services.DeadLetterInfo
    sha: str
    value: bytes
    key: bytes | None
    headers: list
    truncated_to: int | None = None  # bytes kept of the payload, when cut
    pending: bool = False
    error: object = None  # the last KafkaError
    state: str | None = None  # a DeadLetterPublication once settled


def build_copy(letter, *, max_bytes, sha=None):
    """The DLQ message of a letter, cut to fit `max_bytes` (key + value + headers + framing)."""
    sha = sha or payload_sha256(letter.payload)
    origin = letter.origin
    headers = [
        ("reason", letter.reason.encode()),
        ("detail", letter.detail[:500].encode("utf-8", "replace")),
        ("event_id", (letter.event_id or "")[:64].encode("utf-8", "replace")),
        ("payload_sha256", sha.encode()),
    ]
    key = None
    if origin is not None:
        headers += [
            ("source_topic", origin.topic.encode()),
            ("source_partition", str(origin.partition).encode()),
            ("source_offset", str(origin.offset).encode()),
        ]
        key = origin.key
    if key is not None and len(key) > max_bytes // KEY_SHARE:
        headers.append(("key_truncated", str(len(key)).encode()))
        key = key[:KEY_KEEP]
    payload = letter.payload
    room = max_bytes - FRAMING_BYTES - len(key or b"") - _headers_size(headers)
    if len(payload) <= room:
        return _Copy(letter, sha, payload, key, headers)
    marker = (TRUNCATED_HEADER, str(len(payload)).encode())
    keep = max(0, room - _headers_size([marker]))
    return _Copy(letter, sha, payload[:keep], key, [*headers, marker], truncated_to=keep)


class DeadLetterPublisher:
    """Publishes a batch's dead letters to the DLQ topic; see the module docstring."""

    def __init__(
        self,
        *,
        bootstrap_servers,
        topic,
        max_message_bytes=1_000_000,
        retry_seconds=60.0,
        max_backoff=30.0,
        should_stop=lambda: False,
        error_cb=None,
    ):
        self.topic = topic
        self.max_message_bytes = max_message_bytes
        self.retry_seconds = retry_seconds
        self.max_backoff = max_backoff
        self.should_stop = should_stop
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            "acks": "all",
            "linger.ms": 5,
            "message.max.bytes": max_message_bytes,
            # librdkafka's own give-up time (default 5 min) within our bound.
            "message.timeout.ms": max(1000, int(min(retry_seconds, 30) * 1000)),
        }
        if error_cb is not None:
            self._config["error_cb"] = error_cb
        self.producer = Producer(self._config)
        self.last = {"truncated": 0, "failed": 0}  # of the last `publish`
        self._stoppable_at = 0.0

    def close(self, timeout=10):
        self.producer.flush(timeout)

    def publish(self, dead_letters):
        """Publish every letter (whole or truncated) or settle it as failed; record the
        outcomes on the rows. False only when asked to stop while a transient error
        was being retried (the caller must not move the offsets: all is re-read)."""
        self.last = {"truncated": 0, "failed": 0}
        if not dead_letters:
            return True
        self._stoppable_at = time.monotonic() + STOP_GRACE_SECONDS
        copies = [build_copy(d, max_bytes=self.max_message_bytes) for d in dead_letters]
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.5
        todo = copies
        while todo:
            for c in todo:
                if not self._produce(c, deadline):
                    return False
            if not self._await(todo, deadline):
                return False
            todo, replace = self._settle(todo, deadline)
            if replace:
                log.warning("dead-letter producer in a fatal state: replacing it")
                self.producer = Producer(self._config)
            if todo:
                log.warning(
                    "%d dead letter(s) not on %s yet (%s); retrying in %.1fs",
                    len(todo),
                    self.topic,
                    todo[0].error,
                    delay,
                )
                if not self._sleep(delay):
                    return False
                delay = min(delay * 2, self.max_backoff)
        self.last = {
            "truncated": sum(c.state == DeadLetterPublication.TRUNCATED for c in copies),
            "failed": sum(c.state == DeadLetterPublication.FAILED for c in copies),
        }
        dead_letters_publication_record(copies=copies)
        return True

    # ------------------------------------------------------------ steps
    def _produce(self, c, deadline):
        c.error, c.pending = None, True

        def delivered(err, _msg):
            c.pending, c.error = False, err

        while True:
            try:
                self.producer.produce(
                    self.topic, value=c.value, key=c.key, headers=c.headers, on_delivery=delivered
                )
                return True
            except BufferError:  # the local queue is full: let it drain
                self.producer.poll(0.1)
                if self._stopping():
                    return False
                if time.monotonic() >= deadline:
                    c.pending, c.error = False, KafkaError(KafkaError._QUEUE_FULL)
                    return True
            except KafkaException as exc:  # refused before sending (size, fatal state...)
                c.pending, c.error = False, exc.args[0]
                return True

    def _await(self, todo, deadline):
        """Wait for the delivery reports of `todo`; past the deadline, purge what is left
        (reported as purged: transient, and past the bound, so settled as failed)."""
        while any(c.pending for c in todo):
            if self._stopping():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                self.producer.purge()
                self.producer.poll(0)
                for c in todo:
                    if c.pending:
                        c.pending, c.error = False, KafkaError(KafkaError._TIMED_OUT)
                return True
            self.producer.flush(min(1.0, left))
        return True

    def _settle(self, todo, deadline):
        """Settle each delivered copy -> (copies to send again, producer to replace?)."""
        again, replace = [], False
        for c in todo:
            if c.error is None:
                c.state = (
                    DeadLetterPublication.TRUNCATED
                    if c.truncated_to is not None
                    else DeadLetterPublication.PUBLISHED
                )
                if c.truncated_to is not None:
                    TRUNCATED.inc()
                continue
            kind = classify(c.error)
            code = c.error.code()
            too_large = code == KafkaError.MSG_SIZE_TOO_LARGE
            if too_large and len(c.value) > SMALL_COPY_BYTES:
                # The broker's limit is lower than the producer's: one smaller copy.
                small = build_copy(c.letter, max_bytes=SMALL_COPY_BYTES, sha=c.sha)
                c.value, c.key, c.headers = small.value, small.key, small.headers
                c.truncated_to = small.truncated_to
                again.append(c)
                continue
            if kind != PERMANENT and time.monotonic() < deadline:
                replace |= kind == FATAL
                again.append(c)
                continue
            c.state = DeadLetterPublication.FAILED
            PUBLISH_FAILURES.labels(c.error.name()).inc()
            origin = c.letter.origin
            log.error(
                "dead letter %s:%s:%s (%d bytes) left off %s: %s (%s); kept in the table",
                *(origin or ("-", "-", "-"))[:3],
                len(c.letter.payload),
                self.topic,
                c.error.name(),
                "transient, past the retry bound" if kind != PERMANENT else "not transient",
            )
        return again, replace

    def _stopping(self):
        return time.monotonic() >= self._stoppable_at and self.should_stop()

    def _sleep(self, seconds):
        """(after a failure) Sleep unless asked to stop; False when stopping."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.should_stop():
                return False
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        return True


def dead_letters_publication_record(*, copies):
    """Write how each letter's publication ended onto its row (one statement). A failure
    here is logged, not raised: the rows are whole, only their `publication` stays
    `pending`, and ingestion must go on."""
    rows = [c for c in copies if c.letter.origin is not None and c.state is not None]
    if not rows:
        return
    params = [
        [c.letter.origin.topic for c in rows],
        [c.letter.origin.partition for c in rows],
        [c.letter.origin.offset for c in rows],
        [c.sha for c in rows],
        [str(c.state) for c in rows],
        ["" if c.error is None else f"{c.error.name()}: {c.error.str()}"[:2000] for c in rows],
    ]
    try:
        if not connection.in_atomic_block:  # (a broken or stale connection is replaced)
            close_old_connections()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE dashboard_dead_letter AS d
                   SET publication = v.state, publish_error = v.error
                  FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::text[], %s::text[],
                              %s::text[]) AS v(topic, part, off, sha, state, error)
                 WHERE d.topic = v.topic AND d.partition = v.part AND d."offset" = v.off
                   AND d.payload_sha256 = v.sha
                """,
                params,
            )
    except Exception:
        log.exception("recording the publication of %d dead letter(s) failed", len(rows))
