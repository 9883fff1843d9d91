"""Stored time-series answers (dashboard/snapshots/series_cache.py): exact after every commit.

Events go through the real ingestion service in real transactions (its
on-commit renews the scopes' generations); every answer of the endpoint is
compared with the answer computed anew (`render`, the uncached path that
tests/dashboard/test_timeseries.py checks against independent sums).
"""

import random
from datetime import timedelta

import pytest
import redis
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.scope import Scope
from common.redis_mirror import mirror
from dashboard.ingest.services import ingest
from dashboard.snapshots import cache, series_cache
from dashboard.snapshots.timeseries import parse_series_query

pytestmark = pytest.mark.django_db(transaction=True)

SERIES = [
    ("gmv", {"currency": "XOF"}),
    ("success_count", {}),
    ("attempts", {"granularity": "day"}),
    ("gmv", {"currency": "XOF", "country": "SN"}),
]
SCOPES = ["platform", "merchant:m_1", "merchant:m_2", "region:SN", "region:CI"]


@pytest.fixture
def cached(settings, ingest_clean):
    settings.SERIES_CACHE_S = 120
    series_cache.forget_all()
    yield
    series_cache.forget_all()


@pytest.fixture
def staff(client_for, ops_admin):
    return client_for(ops_admin)


def dead_redis():
    return redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))


def answers(name):
    return REGISTRY.get_sample_value("dashboard_series_cache_answers_total", {"result": name}) or 0


def get(client, metric, scope, params):
    response = client.get(f"/api/dashboard/metrics/{metric}/timeseries", {"scope": scope, **params})
    assert response.status_code == 200, response.content
    return response.content


def fresh(metric, scope, params):
    """The answer computed now, without the store."""
    q = parse_series_query(metric=metric, scope=Scope.parse(scope), params=params)
    return series_cache.render(q)


def committing_a_batch_during_the_next_computation(monkeypatch, ingest_event, merchant):
    """The next answer computed commits a batch for `merchant` right after its SQL (before
    the answer is stored), then computing goes back to normal."""
    render = series_cache.render

    def render_then_commit_a_batch(q):
        monkeypatch.setattr(series_cache, "render", render)
        body = render(q)
        assert ingest([ingest_event(merchant_id=merchant)]).counted == 1
        return body

    monkeypatch.setattr(series_cache, "render", render_then_commit_a_batch)


def test_an_answer_is_stored_and_served_again_without_the_database(cached, staff, ingest_event):
    assert ingest([ingest_event(merchant_id="m_1")]).counted == 1
    first = get(staff, "gmv", "merchant:m_1", {"currency": "XOF"})
    hits = answers("hit")
    with CaptureQueriesContext(connection) as queries:
        again = get(staff, "gmv", "merchant:m_1", {"currency": "XOF"})
    assert again == first == fresh("gmv", "merchant:m_1", {"currency": "XOF"})
    assert answers("hit") == hits + 1
    assert not [q for q in queries.captured_queries if "aggregate" in q["sql"]]


def test_every_answer_equals_the_fresh_one_after_every_commit(
    cached, staff, ingest_event, ingest_hour
):
    """Batches for some scopes (new, late by hours, redelivered, another country) between
    reads of every scope: every answer is exact, and untouched scopes are served stored."""
    rng = random.Random(16)
    sent = []
    for step in range(8):
        batch = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["new", "late", "again", "ci"])
            if kind == "again" and sent:
                batch.append(rng.choice(sent))
                continue
            event = ingest_event(
                rng.choice(["payment.succeeded", "payment.failed", "payment.initiated"]),
                merchant_id=rng.choice(["m_1", "m_2"]),
                amount=str(rng.randint(1, 90000)),
            )
            if kind == "late":
                event["occurred_at"] = (
                    ingest_hour - timedelta(hours=rng.randint(1, 30))
                ).isoformat()
            if kind == "ci":
                event.update(country="CI", region="Abidjan", city="Abidjan")
            batch.append(event)
            sent.append(event)
        ingest(batch)
        for scope in SCOPES:
            for metric, params in SERIES:
                assert get(staff, metric, scope, params) == fresh(metric, scope, params), (
                    step,
                    scope,
                    metric,
                    params,
                )
    assert answers("hit") > 0 and answers("miss") > 0


def test_an_answer_computed_before_a_commit_is_not_served_after_it(
    cached, staff, ingest_event, monkeypatch
):
    """The reader read the scope's generation, then a batch committed while it computed:
    what it stored is void, and the next read has the batch."""
    assert ingest([ingest_event(merchant_id="m_1")]).counted == 1
    get(staff, "success_count", "merchant:m_1", {})  # the scope has a generation
    series_cache.forget_all()
    committing_a_batch_during_the_next_computation(monkeypatch, ingest_event, "m_1")
    before = get(staff, "success_count", "merchant:m_1", {})
    after = get(staff, "success_count", "merchant:m_1", {})
    assert after != before
    assert after == fresh("success_count", "merchant:m_1", {})


def test_a_scope_without_a_generation_gets_one_before_its_sql(
    cached, staff, ingest_event, monkeypatch
):
    """Had the reader created the token after its SQL, it would have found the batch's new
    one and stored its older answer under it."""
    assert ingest([ingest_event(merchant_id="m_2")]).counted == 1
    cache.client().delete(series_cache.gen_key("merchant:m_2"))
    committing_a_batch_during_the_next_computation(monkeypatch, ingest_event, "m_2")
    get(staff, "success_count", "merchant:m_2", {})
    assert get(staff, "success_count", "merchant:m_2", {}) == fresh(
        "success_count", "merchant:m_2", {}
    )


def test_a_read_inside_a_transaction_is_never_stored(cached, ingest_event):
    q = parse_series_query(metric="success_count", scope=Scope.parse("merchant:m_1"), params={})
    uncached = answers("uncached")
    with transaction.atomic():
        series_cache.series_body(q)
    assert answers("uncached") == uncached + 1
    assert cache.client().get(series_cache.entry_key(q)) is None


def test_redis_unreadable_answers_from_the_database(cached, staff, ingest_event, monkeypatch):
    assert ingest([ingest_event(merchant_id="m_1")]).counted == 1
    expected = fresh("success_count", "merchant:m_1", {})
    dead = dead_redis()
    q = parse_series_query(metric="success_count", scope=Scope.parse("merchant:m_1"), params={})
    with monkeypatch.context() as patch:
        patch.setattr(series_cache.cache, "client", lambda: dead)
        assert series_cache.series_body(q) == expected


def test_generations_not_written_after_a_commit_are_written_with_the_next_batch(
    cached, staff, ingest_event, monkeypatch
):
    assert ingest([ingest_event(merchant_id="m_1")]).counted == 1
    stored = get(staff, "success_count", "merchant:m_1", {})
    dead = dead_redis()
    with monkeypatch.context() as patch:
        patch.setattr(series_cache.cache, "client", lambda: dead)
        assert ingest([ingest_event(merchant_id="m_1")]).counted == 1  # its new token is lost
    assert "merchant:m_1" in series_cache._unwritten
    assert ingest([ingest_event(merchant_id="m_2")]).counted == 1  # another scope's batch
    assert not series_cache._unwritten
    after = get(staff, "success_count", "merchant:m_1", {})
    assert after != stored and after == fresh("success_count", "merchant:m_1", {})


def test_with_the_mirror_on_answers_stay_exact(settings, cached, staff, ingest_event):
    settings.REDIS_MIRROR = True
    mirror.clear()
    for _ in range(3):
        assert ingest([ingest_event(merchant_id="m_1")]).counted == 1
        for scope in ("platform", "merchant:m_1"):
            for _ in range(2):
                got = get(staff, "success_count", scope, {})
                assert got == fresh("success_count", scope, {})
