"""Writes of ingestion: count events into the hourly aggregates, exactly once.

One path, two steps, whoever calls: `prepare_wire` (validate, drop in-batch
duplicates, pre-aggregate in memory; no database) then `apply_prepared` (drop
events already seen, in one statement, then one upsert, the agents' float/sales,
the dirty-scope marks and the dead letters, all in ONE transaction). The Kafka
consumer's worker processes call the two steps (retrying the second); `ingest`
calls them for events given directly (tests, demo, dead-letter re-processing).
Either the whole batch is counted and its ids remembered, or
nothing is: a retry after any failure cannot double count.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from agents import services as agent_services
from common.db import bound_cursor
from dashboard import stream
from dashboard.choices import COUNT_FIGURES
from dashboard.ingest import sql
from dashboard.ingest.choices import DeadLetterReason, DeadLetterStatus
from dashboard.ingest.validation import (
    FEES_IX,
    FIGURES,
    REVENUE_IX,
    Invalid,
    event_id_of,
    parse,
)
from dashboard.snapshots import series_cache
from dashboard.transactions import sql as tx_sql

log = logging.getLogger("dashboard.ingest")

ZERO = Decimal(0)
N_FIGURES = len(FIGURES)
# Counts are ints, money Decimals: typed columns for the binary arrays. The
# slot after the figures (index N_FIGURES) is the row's last_event_at.
_EMPTY = [0 if name in COUNT_FIGURES else ZERO for name in FIGURES] + [
    datetime.min.replace(tzinfo=UTC)
]
_GMV_IX = FIGURES.index("gmv")
_PLATFORM = ("platform", "")


class Origin(NamedTuple):
    """Where a message came from in Kafka (None for events given to the service API)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None


@dataclass
class DeadLetterInfo:
    """A rejected event of a batch (what goes to the DLQ table and topic)."""

    payload: bytes
    reason: str
    detail: str
    event_id: str
    origin: Origin | None


@dataclass
class IngestResult:
    """What one batch did."""

    received: int = 0
    counted: int = 0
    duplicates: int = 0
    dead_letters: list = field(default_factory=list)
    by_topic_type: Counter = field(default_factory=Counter)
    db_retries: int = 0  # failed attempts before this one succeeded
    timings: dict = field(default_factory=dict)  # step -> seconds (for logs and the bench)


def _as_invalid(exc, payload):
    """The Invalid an event was rejected with; any other exception is the validator's
    defect: logged, and the event set aside as `unprocessable` instead of failing
    its batch on every retry."""
    if isinstance(exc, Invalid):
        return exc
    log.exception("validator failed on an event: dead-lettered as unprocessable")
    return Invalid(DeadLetterReason.UNPROCESSABLE, f"{type(exc).__name__}: {exc}"[:500])


def _as_bytes(payload):
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogatepass")
    if isinstance(payload, dict):
        import orjson

        return orjson.dumps(payload, default=str)
    return bytes(payload)


# Days whose seen-id partition is known to exist, per database (DDL is skipped
# for them; the cache is per process, the DDL itself is idempotent).
_seen_days_ready = {}


def _ensure_seen_partitions(cursor, days, now):
    ready = _seen_days_ready.setdefault(connection.settings_dict["NAME"], set())
    window_start = sql.seen_window_start(settings.SEEN_EVENT_RETENTION_DAYS, now.date())
    missing = {d for d in days if d >= window_start and d not in ready}
    if missing:
        done = sql.seen_partitions_ensure(cursor, missing)
        # Known only once committed: a rolled-back CREATE must be tried again.
        transaction.on_commit(lambda: ready.update(done))


def ingest(payloads, *, origins=None, now=None):
    """Count payloads that do not come from the consumer (tests, the demo, a dead
    letter re-processed): the consumer's own two steps, `prepare_wire` then
    `apply_prepared`, in this process. payloads: dicts, JSON str or bytes; origins:
    their Kafka positions (Origin or None each), when known. Returns an IngestResult;
    raises on a database error (nothing of the batch is then written)."""
    return apply_prepared(prepare_wire(WireBatch.of(payloads, origins), now=now))


@dataclass
class PreparedBatch:
    """A batch validated and pre-aggregated in memory, not yet written (no DB access).

    Aggregation is linear, so it is done over every in-batch-unique event before
    the seen-id check; the (rare) already-seen ones are subtracted afterwards.
    Immutable once built: a failed transaction is retried with the same object."""

    now: datetime
    received: int
    dead_letters: list
    by_topic_type: Counter
    in_batch_duplicates: int
    events: dict  # event_id -> Event
    acc: dict  # aggregate key -> figure vector (+ last_event_at)
    spans: dict
    floats: agent_services.FloatColumns
    sales: agent_services.SalesColumns
    bank_merchants: dict = field(default_factory=dict)  # (bank, hour, merchant, cur) -> gmv


@dataclass(slots=True)
class WireBatch:
    """A batch of Kafka messages as plain parallel lists: what the consumer hands to
    `prepare_wire`, in its own process or (pickled) in an ingest worker process.
    `topic_ix[i]` indexes `topics`; partition/offset/key are only read for a dead letter."""

    topics: list
    values: list
    topic_ix: list
    partitions: list
    offsets: list
    keys: list

    @classmethod
    def of(cls, payloads, origins=None):
        """The batch of `payloads` read at `origins` (Origin or None each; None: all
        unknown, as for events given to `ingest` directly)."""
        origins = list(origins) if origins is not None else [None] * len(payloads)
        topics = sorted({o.topic if o else "" for o in origins})
        index = {topic: i for i, topic in enumerate(topics)}
        return cls(
            topics=topics,
            values=list(payloads),
            topic_ix=[index[o.topic if o else ""] for o in origins],
            partitions=[o.partition if o else None for o in origins],
            offsets=[o.offset if o else None for o in origins],
            keys=[o.key if o else None for o in origins],
        )


def prepare_wire(wire, *, now=None):
    """WireBatch -> PreparedBatch, building an Origin only for a dead letter: this
    loop runs for every event the consumer reads."""
    now = now or datetime.now(UTC)
    dead_letters = []
    by_id = {}
    duplicates = 0
    seen_types = []
    topic_ix = wire.topic_ix
    _parse = parse
    for i, payload in enumerate(wire.values):
        try:
            event = _parse(payload, now)
        except Exception as exc:
            exc = _as_invalid(exc, payload)
            origin = None
            if wire.offsets[i] is not None:  # (None: given to the service API)
                origin = Origin(
                    wire.topics[topic_ix[i]], wire.partitions[i], wire.offsets[i], wire.keys[i]
                )
            dead_letters.append(
                DeadLetterInfo(
                    payload=_as_bytes(payload),
                    reason=exc.reason,
                    detail=exc.detail,
                    event_id=exc.event_id or event_id_of(payload),
                    origin=origin,
                )
            )
            seen_types.append((topic_ix[i], "invalid"))
            continue
        seen_types.append((topic_ix[i], event.type))
        if event.event_id in by_id:
            duplicates += 1
            continue
        by_id[event.event_id] = event
    acc, spans, floats, sales, bank_merchants = _pre_aggregate(by_id.values())
    by_topic_type = Counter()
    for (ti, etype), n in Counter(seen_types).items():
        by_topic_type[(wire.topics[ti], etype)] = n
    return PreparedBatch(
        now=now,
        received=len(wire.values),
        dead_letters=dead_letters,
        by_topic_type=by_topic_type,
        in_batch_duplicates=duplicates,
        events=by_id,
        acc=acc,
        spans=spans,
        floats=floats,
        sales=sales,
        bank_merchants=bank_merchants,
    )


def apply_prepared(batch):
    """Write a prepared batch in ONE transaction: seen ids, aggregates, agents, dirty
    scopes, dead letters. Returns an IngestResult; raises (and writes nothing) on failure."""
    result = IngestResult(
        received=batch.received,
        duplicates=batch.in_batch_duplicates,
        dead_letters=batch.dead_letters,
        by_topic_type=batch.by_topic_type,
    )
    events = batch.events
    timings = result.timings
    clock = time.perf_counter
    t0 = clock()
    with transaction.atomic():
        cursor = bound_cursor()
        fresh_ids = set()
        if events:
            _ensure_seen_partitions(cursor, {e.day for e in events.values()}, batch.now)
            ids, days = list(events), [e.day for e in events.values()]
            if sql.seen_copy(cursor, ids, days):
                fresh_ids = events.keys()
            else:  # some were counted before: find which, in one statement
                fresh_ids = sql.seen_insert(cursor, ids, days)
        t1 = clock()
        timings["seen"] = t1 - t0
        result.duplicates += len(events) - len(fresh_ids)
        result.counted = len(fresh_ids)
        if fresh_ids:
            if len(fresh_ids) == len(events):
                counted = list(events.values())
            else:
                counted = [e for i, e in events.items() if i in fresh_ids]  # (arrival order)
            # Every counted event kept, in the transaction that counts it
            # (dashboard/transactions/): a retried batch writes them once. Written
            # BEFORE the aggregates: their upsert locks the hot rows (the platform's
            # current hour) that every concurrent batch updates too, and those locks
            # are held until commit; so the lock-holding tail of the transaction is
            # kept to the aggregates, the agents and the dirty marks (measured: the
            # COPY after the upsert made concurrent batches queue behind it).
            tx_sql.partitions_ensure(
                cursor,
                {e.day for e in counted},
                retention_days=settings.TRANSACTIONS_RETENTION_DAYS,
                today=batch.now.date(),
            )
            tx_sql.transactions_copy(cursor, counted)
            t2 = clock()
            timings["transactions"] = t2 - t1
            acc, floats, sales = batch.acc, batch.floats, batch.sales
            bank_merchants = batch.bank_merchants
            if len(fresh_ids) < len(events):
                # Some were counted by an earlier batch: take them back out.
                # (last_event_at may keep such an event's time: it was counted
                # in those same rows, whose stored last_event_at already has it.)
                seen = [e for i, e in events.items() if i not in fresh_ids]
                acc, bank_merchants = _subtract(acc, bank_merchants, seen)
                floats = floats.keeping(fresh_ids)
                if any(e.type in _SALES_TYPES for e in seen):
                    sales = _pre_aggregate(events[i] for i in fresh_ids)[3]
            sql.aggregates_upsert(cursor, _rows(acc))
            sql.bank_merchants_upsert(cursor, bank_merchants)
            t2b = clock()
            timings["aggregates"] = t2b - t2
            t2 = t2b
            if floats:
                agent_services.agent_floats_apply(floats)
            if sales:
                agent_services.agent_sales_apply(sales)
            t3 = clock()
            timings["agents"] = t3 - t2
            sql.dirty_scopes_mark(cursor, batch.spans)
            timings["dirty"] = clock() - t3
            # The live feed shows only what the database counted: written after
            # the (outermost) commit, never for an attempt that rolled back.
            transaction.on_commit(partial(_feed_after_commit, counted, timings), robust=True)
            transaction.on_commit(
                partial(series_cache.scopes_changed, list(batch.spans)), robust=True
            )
        if result.dead_letters:
            _dead_letters_store(result.dead_letters, batch.now)
        t4 = clock()
    timings["commit"] = clock() - t4 - timings.get("feed", 0.0)
    timings["apply"] = clock() - t0
    return result


def _feed_after_commit(events, timings):
    """(on commit) The batch's counted events to the live feed (dashboard/stream.py)."""
    started = time.perf_counter()
    stream.feed_append(events)
    timings["feed"] = time.perf_counter() - started


_SALES_TYPES = ("cash_in.completed", "cash_out.completed")


def _rows(acc):
    """Aggregate vectors -> rows (key columns, figures, last_event_at), without the
    rows whose figures are all zero."""
    n = N_FIGURES
    return [key + tuple(vec) for key, vec in acc.items() if any(vec[:n])]


def _subtract(acc, bank_merchants, events):
    """Copies of `acc` and `bank_merchants` without the contribution of `events`:
    their own pre-aggregation (the one fan-out, `_pre_aggregate`) taken away."""
    taken, _, _, _, taken_gmv = _pre_aggregate(events)
    n = N_FIGURES
    acc = dict(acc)
    for key, vec in taken.items():
        kept = acc[key]
        acc[key] = [a - b for a, b in zip(kept[:n], vec[:n], strict=True)] + kept[n:]
    bank_merchants = dict(bank_merchants)
    for key, gmv in taken_gmv.items():
        bank_merchants[key] -= gmv
    return acc, bank_merchants


def _pre_aggregate(events):
    """Events -> (aggregate vectors by key, dirty spans, float updates, sales rows,
    GMV by (bank, hour, merchant, currency)).

    One pass, each event added straight into the row of every scope it counts
    in (platform, merchant, agent, bank): this loop runs for every event, so it
    is written for CPython's speed (locals, no per-event helper calls)."""
    by_tail = {}  # (bucket, country, region, city, currency, source) -> {scope: vector}
    spans = {}
    floats = {}
    located = {}
    sales = agent_services.SalesColumns()
    sales_ix = {}  # (agent, hour, currency) -> its row in `sales`
    bank_merchants = {}
    empty = _EMPTY
    last_ix = N_FIGURES
    fees_ix, revenue_ix, gmv_ix = FEES_IX, REVENUE_IX, _GMV_IX
    sales_types = _SALES_TYPES
    for e in events:
        agent_id = e.agent_id
        etype = e.type
        if etype == "agent.float_updated":
            # Only the last update of each agent and hour can matter to the
            # agents' gauge (latest wins, plus the last value per hour), and the
            # last one carrying a location for the position: send just those.
            rank = (e.occurred_at, e.event_id)
            hkey = (agent_id, e.bucket)
            kept = floats.get(hkey)
            if kept is None or rank > kept[0]:
                floats[hkey] = (rank, e)
            if e.lat is not None:
                kept = located.get(agent_id)
                if kept is None or rank > kept[0]:
                    located[agent_id] = (rank, e)
            for scope in (("platform", ""), ("agent", agent_id), ("region", e.country)):
                _widen(spans, scope, e.bucket)
            continue
        bucket = e.bucket
        amount = e.amount
        last = e.occurred_at
        if agent_id is not None and etype in sales_types:
            skey = (agent_id, bucket, e.currency)
            i = sales_ix.get(skey)
            if i is None:
                i = sales_ix[skey] = sales.add(
                    agent_id=agent_id, bucket=bucket, currency=e.currency, last_seen=last,
                    country=e.country, region=e.region, city=e.city,
                )  # fmt: skip
            if etype == "cash_in.completed":
                sales.cash_in[i] += amount
            else:
                sales.cash_out[i] += amount
            if last >= sales.last_seen[i]:
                sales.last_seen[i] = last
                sales.country[i] = e.country or "ZZ"
                sales.region[i] = e.region or ""
                sales.city[i] = e.city or ""
        count_ix = e.count_ix
        amount_ix = e.amount_ix
        if e.counts_fee:
            fee = e.fee if e.fee is not None else ZERO
            revenue = fee - e.cost if e.cost is not None else fee
        else:
            fee = None
        merchant_id = e.merchant_id
        bank_id = e.bank_id
        if amount_ix == gmv_ix and bank_id is not None and merchant_id is not None:
            bkey = (bank_id, bucket, merchant_id, e.currency)
            bank_merchants[bkey] = bank_merchants.get(bkey, ZERO) + amount
        # Rows grouped by their dimensions first, then by scope: the short scope
        # keys hash faster than full row keys (measured ~30 % of this loop).
        tail = (bucket, e.country, e.region, e.city, e.currency, e.source)
        scopes = by_tail.get(tail)
        if scopes is None:
            scopes = by_tail[tail] = {}
        for scope in (
            _PLATFORM,
            ("merchant", merchant_id),
            ("agent", agent_id),
            ("bank", bank_id),
        ):
            if scope[1] is None:
                continue
            vec = scopes.get(scope)
            if vec is None:
                vec = scopes[scope] = empty[:]
            if count_ix is not None:
                vec[count_ix] += 1
            if amount_ix is not None:
                vec[amount_ix] += amount
            if fee is not None:
                vec[fees_ix] += fee
                vec[revenue_ix] += revenue
            if last > vec[last_ix]:
                vec[last_ix] = last
    acc = {scope + tail: vec for tail, scopes in by_tail.items() for scope, vec in scopes.items()}
    for key in acc:
        bucket = key[2]
        _widen(spans, key[:2], bucket)
        if key[0] == "platform":
            _widen(spans, ("region", key[3]), bucket)
    chosen = {id(e): e for _, e in floats.values()}
    chosen.update((id(e), e) for _, e in located.values())
    float_updates = agent_services.FloatColumns()
    reporting = settings.REPORTING_CURRENCY
    for e in chosen.values():
        float_updates.add(
            agent_id=e.agent_id, balance=e.balance, currency=e.currency or reporting,
            occurred_at=e.occurred_at, event_id=e.event_id, country=e.country,
            region=e.region, city=e.city, lat=e.lat, lon=e.lon,
        )  # fmt: skip
    return acc, spans, float_updates, sales, bank_merchants


def _widen(spans, scope, bucket):
    span = spans.get(scope)
    if span is None:
        spans[scope] = [bucket, bucket]
    elif bucket < span[0]:
        span[0] = bucket
    elif bucket > span[1]:
        span[1] = bucket


def _dead_letters_store(dead_letters, now):
    """Each letter whole in the table (in the batch's transaction, so before any offset
    moves). Its identity is its Kafka position AND its payload hash: a redelivery of
    the same message is recorded once, a different message at a reused position
    (broker restarted empty, topic re-created) gets a row of its own."""
    from dashboard.ingest.choices import DeadLetterPublication
    from dashboard.ingest.dead_letters import payload_sha256
    from dashboard.models import DeadLetter

    DeadLetter.objects.bulk_create(
        [
            DeadLetter(
                received_at=now,
                topic=d.origin.topic if d.origin else "",
                partition=d.origin.partition if d.origin else None,
                offset=d.origin.offset if d.origin else None,
                key=d.origin.key if d.origin else None,
                payload=d.payload,
                payload_sha256=payload_sha256(d.payload),
                event_id=d.event_id[:64],
                reason=d.reason,
                detail=d.detail[:2000],
                # Only the consumer publishes (letters with a Kafka position).
                publication=DeadLetterPublication.PENDING
                if d.origin
                else DeadLetterPublication.LOCAL,
            )
            for d in dead_letters
        ],
        ignore_conflicts=True,
    )


def dead_letters_reprocess(*, dead_letter_ids, actor):
    """Re-run selected dead letters through the batch path; records who did it and the outcome.

    A letter that now validates is counted (once: the seen-id store still
    applies); one still invalid keeps its row with the new reason."""
    from dashboard.models import DeadLetter

    outcome = Counter()
    with transaction.atomic():
        letters = list(
            DeadLetter.objects.select_for_update().filter(id__in=dead_letter_ids).order_by("id")
        )
        now = timezone.now()
        for letter in letters:
            payload = bytes(letter.payload)
            try:
                parse(payload, now)
            except Exception as exc:
                exc = _as_invalid(exc, payload)
                letter.status = DeadLetterStatus.STILL_INVALID
                letter.reason, letter.detail = exc.reason, exc.detail[:2000]
            else:
                res = ingest([payload], now=now)
                letter.status = (
                    DeadLetterStatus.REPROCESSED if res.counted else DeadLetterStatus.DUPLICATE
                )
            letter.reprocessed_at = now
            letter.reprocessed_by = actor
            letter.save(
                update_fields=["status", "reason", "detail", "reprocessed_at", "reprocessed_by"]
            )
            outcome[letter.status] += 1
            log.info(
                "dead letter %s re-processed by %s: %s",
                letter.id,
                getattr(actor, "username", actor),
                letter.status,
            )
    return dict(outcome)
