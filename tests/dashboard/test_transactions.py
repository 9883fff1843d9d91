"""Transactions: stored in the batch's transaction, read in the caller's scope only."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from dashboard.ingest.services import ingest
from dashboard.partitions import TX_DEFAULT, TX_TABLE, tx_partition_name
from dashboard.transactions import sql as tx_sql
from dashboard.transactions.retention import transaction_partitions_maintain

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/transactions"


def _stored(*ids):
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT event_id, type, amount, fee, cost, merchant_id, tableoid::regclass::text "
            f"FROM {TX_TABLE} WHERE event_id = ANY(%s) ORDER BY event_id",
            [list(ids)],
        )
        return cur.fetchall()


def test_counted_events_are_stored_once_with_their_fields(ingest_event):
    e = ingest_event("payment.succeeded", merchant_id="m_1", fee="225", cost="60")
    f = ingest_event("agent.float_updated")
    res = ingest([e, e, f])
    assert res.counted == 2
    ingest([e])  # redelivered in a later batch: not stored again
    rows = _stored(e["event_id"], f["event_id"])
    day = datetime.fromisoformat(e["occurred_at"]).date()
    assert sorted(rows) == sorted(
        [
            (e["event_id"], "payment.succeeded", Decimal(15000), Decimal(225), Decimal(60), "m_1",
             tx_partition_name(day)),
            (f["event_id"], "agent.float_updated", None, None, None, None, tx_partition_name(day)),
        ]
    )  # fmt: skip


def test_dead_letters_are_not_stored(ingest_event):
    bad = ingest_event("payment.succeeded", amount="-1")
    res = ingest([bad])
    assert len(res.dead_letters) == 1 and _stored(bad["event_id"]) == []


def test_a_failed_batch_stores_nothing(ingest_event, monkeypatch):
    from dashboard.ingest import sql

    e = ingest_event("payment.succeeded")

    def boom(*a, **k):
        raise RuntimeError("dirty marks failed")

    monkeypatch.setattr(sql, "dirty_scopes_mark", boom)
    with pytest.raises(RuntimeError):
        ingest([e])
    assert _stored(e["event_id"]) == []


def test_events_far_in_the_past_get_a_partition_and_beyond_retention_the_default(
    ingest_event, settings
):
    now = datetime.now(UTC)
    old = ingest_event("payment.succeeded", occurred_at=(now - timedelta(days=200)).isoformat())
    older = ingest_event("payment.succeeded", occurred_at=(now - timedelta(days=500)).isoformat())
    assert ingest([old, older]).counted == 2
    by_id = {r[0]: r[6] for r in _stored(old["event_id"], older["event_id"])}
    assert by_id[old["event_id"]] == tx_partition_name((now - timedelta(days=200)).date())
    assert by_id[older["event_id"]] == TX_DEFAULT


def test_events_a_little_in_the_future_are_stored(ingest_event):
    soon = datetime.now(UTC) + timedelta(minutes=4)
    e = ingest_event("payment.succeeded", occurred_at=soon.isoformat())
    assert ingest([e]).counted == 1
    assert _stored(e["event_id"])[0][6] in (tx_partition_name(soon.date()), TX_DEFAULT)


def test_retention_drops_whole_day_partitions_only(ingest_event):
    now = datetime.now(UTC)
    kept_day = now - timedelta(days=10)
    gone_day = now - timedelta(days=30)
    kept = ingest_event("payment.succeeded", occurred_at=kept_day.isoformat())
    gone = ingest_event("payment.succeeded", occurred_at=gone_day.isoformat())
    ingest([kept, gone])
    # A default-partition row older than the window is deleted; a newer one stays.
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {TX_DEFAULT} (event_id, type, source, occurred_at, country) VALUES "
            "('dflt-old', 'payment.failed', 'connect', %s, 'SN')",
            [now - timedelta(days=5000)],
        )
    report = transaction_partitions_maintain(now=now, retention_days=20)
    assert report["dropped"] == [tx_partition_name(gone_day.date())]
    assert report["default_deleted"] == 1
    assert [r[0] for r in _stored(kept["event_id"], gone["event_id"], "dflt-old")] == [
        kept["event_id"]
    ]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", [TX_TABLE])
        assert cur.fetchone()[0] > 5  # the window's days and the ones ahead stay
    # Partitions ahead exist for the next days.
    ahead = tx_partition_name((now + timedelta(days=2)).date())
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [ahead])
        assert cur.fetchone()[0] == ahead
    tx_sql.partitions_forget_cache()


# ------------------------------------------------------------------ API


@pytest.fixture
def tenants(ingest_event):
    """Events of merchant m_1 and m_2 (and agent a_1, bank b_1) over the last hours."""
    now = datetime.now(UTC).replace(microsecond=0)
    events = []
    for i in range(6):
        at = (now - timedelta(hours=i, minutes=1)).isoformat()
        events.append(
            ingest_event("payment.succeeded", merchant_id="m_1", bank_id="b_1",
                         occurred_at=at, amount=str(100 + i), event_id=f"m1-{i}")
        )  # fmt: skip
        events.append(
            ingest_event("payment.failed", merchant_id="m_2", country="CI",
                         occurred_at=at, event_id=f"m2-{i}")
        )  # fmt: skip
    events.append(ingest_event("cash_in.completed", agent_id="a_1", event_id="a1-0",
                               merchant_id=None))  # fmt: skip
    events.append(ingest_event("agent.float_updated", agent_id="a_1", merchant_id="m_1",
                               event_id="a1-float"))  # fmt: skip
    ingest(events)
    return events


def _ids(response):
    assert response.status_code == 200, response.content
    return [r["event_id"] for r in response.json()["results"]]


def test_staff_pages_through_a_scope_newest_first(client_for, ops_admin, tenants):
    client = client_for(ops_admin)
    first = client.get(URL, {"scope": "merchant:m_1", "limit": 4})
    assert _ids(first) == ["m1-0", "m1-1", "m1-2", "m1-3"]
    row = first.json()["results"][0]
    assert row["amount"] == "100" and row["status"] == "succeeded" and "cost" in row
    second = client.get(URL, {"scope": "merchant:m_1", "limit": 4, "cursor": first.json()["next"]})
    assert _ids(second) == ["m1-4", "m1-5"] and second.json()["next"] is None


def test_filters_narrow_the_list(client_for, ops_admin, tenants):
    client = client_for(ops_admin)
    assert _ids(client.get(URL, {"type": "payment.failed", "country": "CI", "limit": 2})) == [
        "m2-0", "m2-1"
    ]  # fmt: skip
    assert _ids(client.get(URL, {"scope": "merchant:m_1", "amount_min": "102",
                                 "amount_max": "103"})) == ["m1-2", "m1-3"]  # fmt: skip
    assert _ids(client.get(URL, {"event_id": "m2-3"})) == ["m2-3"]
    assert _ids(client.get(URL, {"scope": "agent:a_1"})) == ["a1-float", "a1-0"] or _ids(
        client.get(URL, {"scope": "agent:a_1"})
    ) == ["a1-0", "a1-float"]
    assert _ids(client.get(URL, {"scope": "bank:b_1", "figure": "gmv", "limit": 1})) == ["m1-0"]
    assert _ids(client.get(URL, {"figure": "cash_in_amount"})) == ["a1-0"]


def test_bad_filters_are_400_with_field_errors(client_for, ops_admin, tenants):
    r = client_for(ops_admin).get(
        URL,
        {"type": "nope", "currency": "xof", "from": "yesterday", "amount_min": "1e", "limit": "0",
         "cursor": "!!", "figure": "x", "source": "bank", "country": "Senegal"},
    )  # fmt: skip
    assert r.status_code == 400
    client = client_for(ops_admin)
    assert client.get(URL, {"limit": "²"}).status_code == 400  # a digit to isdigit(), not int()
    assert client.get(f"{URL}/bad%00id").status_code == 404  # no such id, never a 500
    assert set(r.json()["errors"]) == {
        "type", "currency", "from", "amount_min", "limit", "cursor", "figure", "source", "country"
    }  # fmt: skip


FILTERS = [
    {},
    {"type": "payment.failed"},
    {"figure": "failed_count"},
    {"country": "CI"},
    {"currency": "XOF"},
    {"source": "connect"},
    {"region": "Dakar"},
    {"city": "Dakar"},
    {"amount_min": "0"},
    {"event_id": "m2-0"},
]


@pytest.mark.parametrize("extra", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_a_merchant_never_sees_another_tenants_events_through_any_filter(
    client_for, merchant_admin_m1, tenants, extra
):
    client = client_for(merchant_admin_m1)
    ids = _ids(client.get(URL, extra))
    assert all(i.startswith("m1-") for i in ids)  # never m_2's, nor the agent's float
    forbidden = client.get(URL, {"scope": "merchant:m_2", **extra})
    assert forbidden.status_code == 403
    assert client.get(URL, {"scope": "platform", **extra}).status_code == 403
    if "event_id" not in extra:
        csv_body = b"".join(client.get(URL, {**extra, "format": "csv"}).streaming_content)
        assert b"m2-" not in csv_body and b"a1-" not in csv_body
        drill = client.get("/api/dashboard/drilldown", {"figure": "failed_count", **extra})
        assert drill.status_code == 200 and drill.json()["count"] == 0


def test_one_event_by_id_and_another_tenants_is_404(client_for, merchant_admin_m1, agent_user,
                                                     tenants):  # fmt: skip
    client = client_for(merchant_admin_m1)
    ok = client.get(f"{URL}/m1-2")
    assert ok.status_code == 200 and ok.json()["event_id"] == "m1-2"
    assert "cost" not in ok.json()  # partners' cost is platform staff's only
    assert client.get(f"{URL}/m2-2").status_code == 404
    assert client.get(f"{URL}/a1-float").status_code == 404  # float updates: agent's own
    assert client.get(f"{URL}/m2-2", {"scope": "merchant:m_2"}).status_code == 403
    assert client_for(agent_user).get(f"{URL}/a1-float").status_code == 200
    assert client_for(agent_user).get(f"{URL}/m1-2").status_code == 404


def test_csv_export_streams_every_row(client_for, ops_admin, tenants):
    r = client_for(ops_admin).get(URL, {"scope": "merchant:m_1", "format": "csv"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    lines = b"".join(r.streaming_content).decode().splitlines()
    assert lines[0].startswith("event_id,type,status")
    assert [line.split(",")[0] for line in lines[1:]] == [f"m1-{i}" for i in range(6)]


def test_keyset_pages_never_skip_or_repeat_under_concurrent_inserts(
    client_for, ops_admin, ingest_event, transactional_db
):
    now = datetime.now(UTC).replace(microsecond=0)
    base = [
        ingest_event("payment.failed", merchant_id="m_k", event_id=f"k-{i:03d}",
                     occurred_at=(now - timedelta(minutes=i % 7, seconds=i)).isoformat())
        for i in range(40)
    ]  # fmt: skip
    ingest(base)
    client = client_for(ops_admin)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"scope": "merchant:m_k", "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, params).json()
        seen += [r["event_id"] for r in body["results"]]
        pages += 1
        if pages == 2:
            # Another connection counts events meanwhile: newer, older, same instants.
            def insert():
                at = [(now - timedelta(minutes=j % 9, seconds=j)).isoformat() for j in range(30)]
                extra = [
                    ingest_event("payment.failed", merchant_id="m_k", event_id=f"n-{j}",
                                 occurred_at=at[j])
                    for j in range(30)
                ]  # fmt: skip
                ingest(extra)
                connection.close()

            t = threading.Thread(target=insert)
            t.start()
            t.join()
        cursor = body["next"]
        if cursor is None:
            break
    with connection.cursor() as cur:  # (a transactional test: its rows would outlive it)
        cur.execute(f"DELETE FROM {TX_TABLE} WHERE merchant_id = 'm_k'")
    originals = [s for s in seen if s.startswith("k-")]
    assert len(seen) == len(set(seen))  # nothing repeated
    assert sorted(originals) == sorted(e["event_id"] for e in base)  # nothing skipped


def test_a_scopes_day_sum_is_read_from_its_index_alone(ingest_event, transactional_db):
    # A bank's day is tens of thousands of rows spread over the whole day's heap:
    # its drill-down sum must be answerable from the scope's index (migration
    # dashboard/0014 INCLUDEs every column a sum filters or adds up).
    from accounts.scope import Scope
    from common import dbroles
    from dashboard.transactions.selectors import TxQuery, drilldown_sum

    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    part = tx_partition_name(day.date())
    # A small, vacuumed and analysed day (committed, so VACUUM sees it): the state in
    # which a sequential scan is cheapest, and the one other tests leave behind.
    kinds = [("payment.succeeded", {"merchant_id": "m_ix", "bank_id": "b_ix"}),
             ("payment.failed", {"merchant_id": "m_ix"}),
             ("cash_in.completed", {"agent_id": "a_ix"}),
             ("payment.succeeded", {"merchant_id": "m_other", "bank_id": "b_other"})]  # fmt: skip
    events = [
        ingest_event(etype, event_id=f"ix-{i:03d}",
                     occurred_at=(day + timedelta(seconds=i)).isoformat(), **ids)
        for i in range(12)
        for etype, ids in [kinds[i % len(kinds)]]
    ]  # fmt: skip
    try:
        assert ingest(events).counted == len(events)
        with dbroles.as_owner() as owner, owner.cursor() as cur:  # (the app role may not)
            cur.execute(f"VACUUM ANALYZE {part}")
            cur.execute("SELECT relpages FROM pg_class WHERE relname = %s", [part])
            assert cur.fetchone()[0] > 0  # real statistics, not the planner's guess
        cases = [("bank:b_ix", "gmv"), ("merchant:m_ix", "revenue"),
                 ("merchant:m_ix", "conversion_rate"), ("agent:a_ix", "sales")]  # fmt: skip
        for scope, figure in cases:
            statements = []

            def capture(execute, sql, params, many, context, statements=statements):
                statements.append((sql, params))
                return execute(sql, params, many, context)

            kind, _, ident = scope.partition(":")
            q = TxQuery(scope=Scope(kind, ident), frm=day, to=day + timedelta(days=1),
                        figure=figure)  # fmt: skip
            with connection.execute_wrapper(capture):
                drilldown_sum(q)
            assert statements
            with transaction.atomic(), connection.cursor() as cur:
                # Sequential and bitmap scans priced out; index scans are left on, since
                # in PostgreSQL 15 `enable_indexscan = off` prices out index-only scans too.
                for setting in ("seqscan", "bitmapscan"):
                    cur.execute(f"SET LOCAL enable_{setting} = off")
                for sql, params in statements:
                    cur.execute(f"EXPLAIN {sql}", params)
                    plan = "\n".join(row[0] for row in cur.fetchall())
                    assert "Index Only Scan" in plan and "Seq Scan" not in plan, (scope, plan)
    finally:
        with connection.cursor() as cur:  # (a transactional test: its rows would outlive it)
            cur.execute(
                f"DELETE FROM {TX_TABLE} WHERE event_id = ANY(%s)",
                [[e["event_id"] for e in events]],
            )


def test_the_raw_events_are_written_before_the_aggregates_lock_their_rows(
    ingest_event, monkeypatch
):
    # The aggregates' upsert locks rows every concurrent batch updates (the
    # platform's current hour) until commit: the raw events' COPY must not run
    # inside that window, or concurrent batches queue behind it (docs/ingestion.md).
    from dashboard.ingest import services
    from dashboard.ingest import sql as ingest_sql

    order = []

    def recorded(name, fn):
        def wrapper(*args, **kwargs):
            order.append(name)
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        services.tx_sql, "transactions_copy", recorded("copy", tx_sql.transactions_copy)
    )
    monkeypatch.setattr(
        ingest_sql, "aggregates_upsert", recorded("aggregates", ingest_sql.aggregates_upsert)
    )
    e = ingest_event("payment.succeeded", merchant_id="m_order")
    assert ingest([e]).counted == 1
    assert order == ["copy", "aggregates"]
    assert len(_stored(e["event_id"])) == 1
