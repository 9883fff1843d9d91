"""`ingest` (the consumer's two steps) against the real database: the contract, exactly."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from agents.models import Agent, AgentSalesHour
from dashboard.ingest.services import ingest
from dashboard.models import DeadLetter, DirtyScope, HourlyAggregate

pytestmark = pytest.mark.django_db

D = Decimal

# type -> the figures one event of it adds (amount 15000, fee 225, cost 60).
EXPECTED = {
    "payment.initiated": {"attempts": 1},
    "payment.succeeded": {"gmv": D(15000), "success_count": 1, "fees": D(225), "revenue": D(165)},
    "payment.failed": {"failed_count": 1},
    "refund.succeeded": {"refunds_amount": D(15000), "refunds_count": 1},
    "dispute.opened": {"disputes_amount": D(15000), "disputes_count": 1},
    "payout.completed": {"payouts_amount": D(15000), "payouts_count": 1},
    "payout.failed": {"payouts_failed_count": 1},
    "fraud.flagged": {"fraud_amount": D(15000), "fraud_count": 1},
    "transfer.completed": {"gmv": D(15000), "success_count": 1, "fees": D(225), "revenue": D(165)},
    "cash_in.completed": {"cash_in_amount": D(15000), "fees": D(225), "revenue": D(165)},
    "cash_out.completed": {"cash_out_amount": D(15000), "fees": D(225), "revenue": D(165)},
}


def _nonzero(totals):
    return {k: v for k, v in totals.items() if v}


@pytest.mark.parametrize("wire", [False, True], ids=["dict", "bytes"])
@pytest.mark.parametrize("etype", sorted(EXPECTED))
def test_each_event_type_counts_per_contract_in_every_scope(etype, wire, ingest_event, ingest_rows):
    """As a dict (the service API) and as the bytes a Kafka message carries (the
    consumer's fast path: tests/dashboard/test_fast_validation.py)."""
    event = ingest_event(
        etype,
        merchant_id="m_1042",
        agent_id="a_0001",
        bank_id="b_sgbs",
        fee="225",
        cost="60",
    )
    result = ingest([json.dumps(event).encode() if wire else event])
    assert result.counted == 1
    for kind, sid in (("platform", ""), ("merchant", "m_1042"), ("agent", "a_0001"),
                      ("bank", "b_sgbs")):  # fmt: skip
        assert _nonzero(ingest_rows(kind, sid)) == EXPECTED[etype], (kind, etype)
    row = HourlyAggregate.objects.get(scope_kind="merchant", scope_id="m_1042")
    assert (row.country, row.region, row.city, row.source) == (
        "SN",
        "Dakar",
        "Dakar",
        event["source"],
    )
    assert row.currency == event.get("currency", "")
    assert row.bucket == datetime.fromisoformat(event["occurred_at"]).replace(minute=0, second=0)


def test_scopes_absent_from_the_event_get_no_rows(ingest_event):
    ingest([ingest_event("payment.succeeded", merchant_id="m_solo")])
    kinds = set(HourlyAggregate.objects.values_list("scope_kind", flat=True))
    assert kinds == {"platform", "merchant"}


def test_same_event_three_times_in_one_batch_and_across_batches_counts_once(
    ingest_event, ingest_rows
):
    event = ingest_event("payment.succeeded", merchant_id="m_dup", amount="100.5")
    first = ingest([event, dict(event), json.dumps(event)])
    assert (first.counted, first.duplicates) == (1, 2)
    again = ingest([event])
    assert (again.counted, again.duplicates) == (0, 1)
    ingest([json.dumps(event).encode()])
    totals = ingest_rows("merchant", "m_dup")
    assert totals["gmv"] == D("100.5") and totals["success_count"] == 1


def test_money_is_exact_from_strings_and_json_numbers(ingest_event, ingest_rows):
    raw = [
        '{"event_id":"x1","type":"payment.succeeded","source":"connect","occurred_at":"%s",'
        '"merchant_id":"m_exact","currency":"XOF","amount":0.1,"fee":0.0001}',
        '{"event_id":"x2","type":"payment.succeeded","source":"connect","occurred_at":"%s",'
        '"merchant_id":"m_exact","currency":"XOF","amount":"0.2","cost":"0.0003"}',
        '{"event_id":"x3","type":"payment.succeeded","source":"connect","occurred_at":"%s",'
        '"merchant_id":"m_exact","currency":"XOF","amount":99999999999999.9999}',
    ]
    ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    result = ingest([r % ts for r in raw])
    assert result.counted == 3, result.dead_letters
    totals = ingest_rows("merchant", "m_exact")
    assert totals["gmv"] == D("100000000000000.2999")
    assert totals["fees"] == D("0.0001")
    assert totals["revenue"] == D("-0.0002")


def test_event_three_days_late_lands_in_its_hour_and_marks_that_range_dirty(ingest_event):
    late_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    event = ingest_event(
        "payment.succeeded",
        merchant_id="m_late",
        bank_id="b_late",
        country="CI",
        occurred_at=(late_hour + timedelta(minutes=59, seconds=59)).isoformat(),
    )
    assert ingest([event]).counted == 1
    row = HourlyAggregate.objects.get(scope_kind="merchant", scope_id="m_late")
    assert row.bucket == late_hour
    dirty = {(d.scope_kind, d.scope_id): d for d in DirtyScope.objects.all()}
    for scope in (("platform", ""), ("merchant", "m_late"), ("bank", "b_late"), ("region", "CI")):
        assert dirty[scope].min_bucket <= late_hour <= dirty[scope].max_bucket
    assert ingest([event]).counted == 0


def test_dirty_scope_range_widens_with_each_batch(ingest_event, ingest_hour):
    ingest([ingest_event(merchant_id="m_w")])
    earlier = ingest_hour - timedelta(hours=5)
    ingest([ingest_event(merchant_id="m_w", occurred_at=earlier.isoformat())])
    dirty = DirtyScope.objects.get(scope_kind="merchant", scope_id="m_w")
    assert (dirty.min_bucket, dirty.max_bucket) == (earlier, ingest_hour)


def test_offset_timestamps_bucket_by_utc_hour(ingest_event, ingest_hour):
    local = (ingest_hour + timedelta(minutes=30)).astimezone(
        datetime.fromisoformat("2026-01-01T00:00:00+05:30").tzinfo
    )
    ingest([ingest_event(merchant_id="m_tz", occurred_at=local.isoformat())])
    assert HourlyAggregate.objects.get(scope_kind="merchant", scope_id="m_tz").bucket == ingest_hour


INVALID = [
    ("invalid_json", b"{not json"),
    ("invalid_json", b"\xff\xfe"),
    ("invalid_json", b"[1, 2]"),
    ("missing_field", {"event_id": None}),
    ("missing_field", {"occurred_at": None}),
    ("missing_field", {"amount": None}),
    ("missing_field", {"currency": None}),
    ("invalid_field", {"event_id": "x" * 65}),
    ("invalid_field", {"merchant_id": 42}),
    ("unknown_type", {"type": "payment.teleported"}),
    ("invalid_source", {"source": "bank"}),
    ("invalid_source", {"type": "cash_in.completed", "source": "connect"}),
    ("invalid_currency", {"currency": "xof"}),
    ("invalid_currency", {"currency": "ABC"}),
    ("invalid_country", {"country": "XX"}),
    ("negative_amount", {"amount": "-1"}),
    ("negative_amount", {"fee": "-0.5"}),
    ("invalid_amount", {"amount": "12.34567"}),
    ("invalid_amount", {"amount": "1e3"}),
    ("invalid_amount", {"amount": "100000000000000"}),
    ("invalid_amount", {"amount": "NaN"}),
    ("invalid_amount", {"amount": True}),
    ("invalid_timestamp", {"occurred_at": "2026-11-27T10:15:03"}),
    ("invalid_timestamp", {"occurred_at": "yesterday"}),
    ("invalid_location", {"location": {"lat": 95, "lon": 0}}),
    ("invalid_field", {"event_id": "a\x00b"}),
    ("invalid_field", {"city": "Da\x00kar"}),
    (
        "invalid_field",
        b'{"event_id":"a\\ud800","type":"payment.failed","source":"connect",'
        b'"occurred_at":"2026-11-27T10:00:00Z","amount":1.5}',
    ),
]


@pytest.mark.parametrize("reason,change", INVALID)
def test_invalid_event_is_dead_lettered_with_reason_and_neighbours_counted(
    reason, change, ingest_event, ingest_rows
):
    if isinstance(change, bytes):
        bad = change
    else:
        bad = ingest_event("payment.succeeded", merchant_id="m_bad")
        for k, v in change.items():
            bad[k] = v
        if "type" in change and change["type"] == "cash_in.completed":
            bad["source"] = "connect"
        bad = {k: v for k, v in bad.items() if v is not None}
    before = ingest_event("payment.succeeded", merchant_id="m_ok")
    after = ingest_event("payment.failed", merchant_id="m_ok")
    result = ingest([before, bad, after])
    assert result.counted == 2
    assert [d.reason for d in result.dead_letters] == [reason]
    letter = DeadLetter.objects.get()
    assert letter.reason == reason and letter.detail
    if isinstance(change, bytes):
        assert bytes(letter.payload) == change
    assert ingest_rows("merchant", "m_bad") == ingest_rows("merchant", "nobody")
    totals = ingest_rows("merchant", "m_ok")
    assert (totals["success_count"], totals["failed_count"]) == (1, 1)


def test_future_timestamp_is_dead_lettered_but_four_minutes_ahead_is_counted(ingest_event):
    now = datetime.now(UTC)
    ahead = ingest_event(occurred_at=(now + timedelta(minutes=4)).isoformat())
    future = ingest_event(occurred_at=(now + timedelta(minutes=6)).isoformat())
    result = ingest([ahead, future])
    assert result.counted == 1
    assert [d.reason for d in result.dead_letters] == ["future_timestamp"]


def test_float_updates_latest_occurred_at_wins_whatever_the_arrival_order(
    ingest_event, ingest_hour
):
    newest = ingest_event(
        "agent.float_updated", agent_id="a_0042", balance="-1200.50",
        occurred_at=(ingest_hour + timedelta(minutes=50)).isoformat(),
        location={"lat": 14.6928, "lon": -17.4467},
    )  # fmt: skip
    older = ingest_event(
        "agent.float_updated", agent_id="a_0042", balance="999999",
        occurred_at=(ingest_hour + timedelta(minutes=10)).isoformat(),
    )  # fmt: skip
    ingest([newest])
    ingest([older])
    agent = Agent.objects.get(agent_id="a_0042")
    assert agent.float_balance == D("-1200.50")
    assert ("agent", "a_0042") in set(DirtyScope.objects.values_list("scope_kind", "scope_id"))
    # A gauge counts nothing in the aggregates.
    assert not HourlyAggregate.objects.filter(scope_kind="agent", scope_id="a_0042").exists()


def test_cash_in_and_out_feed_agent_sales_once(ingest_event, ingest_hour):
    cash_in = ingest_event("cash_in.completed", agent_id="a_0007", amount="5000")
    cash_out = ingest_event("cash_out.completed", agent_id="a_0007", amount="2000.25")
    ingest([cash_in, cash_out, cash_in])
    ingest([cash_out])
    sales = AgentSalesHour.objects.get(agent__agent_id="a_0007", bucket=ingest_hour)
    assert (sales.cash_in_amount, sales.cash_out_amount) == (D(5000), D("2000.25"))


def test_batch_mixing_new_and_already_counted_events_counts_only_the_new(
    ingest_event, ingest_rows, ingest_hour
):
    old_pay = ingest_event(
        "payment.succeeded", merchant_id="m_mix", agent_id="a_mix", bank_id="b_mix", amount="7"
    )
    old_cash = ingest_event("cash_in.completed", agent_id="a_mix", amount="100", fee="1")
    at40 = (ingest_hour + timedelta(minutes=40)).isoformat()
    old_float = ingest_event(
        "agent.float_updated", agent_id="a_mix", balance="50", occurred_at=at40
    )
    ingest([old_pay, old_cash, old_float])
    new_pay = ingest_event(
        "payment.succeeded", merchant_id="m_mix", agent_id="a_mix", bank_id="b_mix", amount="5"
    )
    new_cash = ingest_event("cash_in.completed", agent_id="a_mix", amount="30", fee="2")
    at5 = (ingest_hour + timedelta(minutes=5)).isoformat()
    older_float = ingest_event(
        "agent.float_updated", agent_id="a_mix", balance="9", occurred_at=at5
    )
    result = ingest([old_pay, new_pay, old_cash, new_cash, old_float, older_float])
    assert (result.counted, result.duplicates) == (3, 3)
    agent = ingest_rows("agent", "a_mix")
    assert (agent["gmv"], agent["success_count"]) == (D(12), 2)
    assert (agent["cash_in_amount"], agent["fees"]) == (D(130), D(3))
    assert ingest_rows("merchant", "m_mix")["gmv"] == D(12)
    assert ingest_rows("bank", "b_mix")["gmv"] == D(12)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT sum(gmv) FROM dashboard_bank_merchant_hourly "
            "WHERE bank_id = 'b_mix' AND merchant_id = 'm_mix'"
        )
        assert cur.fetchone()[0] == D(12)
    sales = AgentSalesHour.objects.get(agent__agent_id="a_mix", bucket=ingest_hour)
    assert sales.cash_in_amount == D(130)
    assert Agent.objects.get(agent_id="a_mix").float_balance == D(50)


def test_only_the_last_float_update_per_agent_and_hour_reaches_the_agents_app(
    ingest_event, ingest_hour
):
    from dashboard.ingest.services import WireBatch, prepare_wire

    def at(minute, balance, **kw):
        ts = (ingest_hour + timedelta(minutes=minute)).isoformat()
        return ingest_event("agent.float_updated", agent_id="a_r", balance=balance,
                            occurred_at=ts, **kw)  # fmt: skip

    located = at(10, "1", location={"lat": 14.7, "lon": -17.4})
    batch = prepare_wire(WireBatch.of([at(50, "3"), located, at(30, "2"), at(70, "4")]))
    assert sorted(batch.floats.balance) == [D(1), D(3), D(4)]
    ingest([at(50, "3"), located, at(30, "2"), at(70, "4")])
    assert Agent.objects.get(agent_id="a_r").float_balance == D(4)


def test_event_ids_copy_would_read_as_escapes_are_stored_and_deduplicated(
    ingest_event, ingest_rows
):
    ids = ["a\\b", "tab\there", "line\nbreak", "cr\rid", "plain"]
    events = [ingest_event("payment.failed", merchant_id="m_esc", event_id=i) for i in ids]
    assert ingest(events).counted == 5
    again = ingest(events[::-1])
    assert (again.counted, again.duplicates) == (0, 5)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT event_id FROM dashboard_seen_event WHERE event_id = ANY(%s)", [ids])
        assert sorted(r[0] for r in cur.fetchall()) == sorted(ids)
    assert ingest_rows("merchant", "m_esc")["failed_count"] == 5


def test_a_validator_defect_dead_letters_the_event_instead_of_failing_the_batch(
    ingest_event, ingest_rows, monkeypatch, caplog
):
    from dashboard.ingest import validation
    from dashboard.ingest.services import WireBatch, apply_prepared, prepare_wire

    real = validation.validate

    def broken(obj, now=None):
        if obj.get("event_id") == "boom":
            raise TypeError("a defect")
        return real(obj, now)

    monkeypatch.setattr(validation, "validate", broken)
    # JSON-number amounts: not the fast path's shape, so the (broken) validator runs.
    events = [
        ingest_event(merchant_id="m_defect", amount=10),
        ingest_event(merchant_id="m_defect", amount=20, event_id="boom"),
        ingest_event(merchant_id="m_defect", amount=30),
    ]
    values = [json.dumps(e).encode() for e in events]
    wire = WireBatch(["t"], values, [0, 0, 0], [0, 0, 0], [7, 8, 9], [None] * 3)
    result = apply_prepared(prepare_wire(wire))
    assert result.counted == 2
    letter = DeadLetter.objects.get()
    assert (letter.reason, letter.event_id, letter.offset) == ("unprocessable", "boom", 8)
    assert "TypeError: a defect" in letter.detail
    assert "validator failed" in caplog.text
    assert ingest_rows("merchant", "m_defect")["gmv"] == D(40)
