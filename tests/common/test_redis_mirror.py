"""The per-process Redis mirror (common/redis_mirror.py), against the real Redis.

Each test runs its own Mirror on its own key prefix; "another process" is a
second Redis connection writing the keys.
"""

import time
import uuid

import pytest
import redis
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from common.redis_mirror import Mirror, mirror, publish_invalidation
from dashboard.api import identity
from tests.race import wait_for


@pytest.fixture
def other():
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


class Counting:
    """A client whose MGETs are counted (and may run something after fetching)."""

    def __init__(self, after_fetch=None):
        self.real = redis.Redis.from_url(settings.REDIS_URL)
        self.calls = 0
        self.after_fetch = after_fetch

    def mget(self, *keys):
        self.calls += 1
        values = self.real.mget(*keys)
        if self.after_fetch:
            hook, self.after_fetch = self.after_fetch, None
            hook()
        return values


def settled(m, write):
    """Run `write` (another connection's) and wait until `m` got its notification."""
    seq = m._seq
    write()
    assert wait_for(lambda: m._seq != seq), "no notification reached the mirror"


@pytest.fixture
def live_mirror(settings):
    """A fresh Mirror watching its own prefix, subscribed (live) before the test starts."""
    settings.REDIS_MIRROR = True
    prefix = f"test-mirror:{uuid.uuid4().hex}:"
    m = Mirror()
    m.watch(prefix + "k:")
    m.watch(prefix + "quiet:", keyspace=False)
    m.mget(redis.Redis.from_url(settings.REDIS_URL), [prefix + "k:warm"])  # starts the thread
    assert wait_for(lambda: m._live), "the mirror never subscribed"
    m.prefix = prefix
    yield m
    m._pid = None  # its thread stops at its next message or ping
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(prefix + "*"))
    if keys:
        client.delete(*keys)


def test_a_watched_key_is_fetched_once_then_served_from_the_process(live_mirror, other):
    key = live_mirror.prefix + "k:a"
    settled(live_mirror, lambda: other.set(key, b"v1"))
    client = Counting()
    assert live_mirror.mget(client, [key]) == [b"v1"]
    assert live_mirror.mget(client, [key]) == [b"v1"]
    assert client.calls == 1


def test_the_mirror_starts_over_past_its_byte_budget(live_mirror, other, monkeypatch):
    monkeypatch.setattr("common.redis_mirror.MAX_BYTES", 25)
    first, second = live_mirror.prefix + "k:big1", live_mirror.prefix + "k:big2"
    settled(live_mirror, lambda: other.set(first, b"x" * 20))
    settled(live_mirror, lambda: other.set(second, b"y" * 20))
    client = Counting()
    live_mirror.mget(client, [first])
    assert first in live_mirror._entries
    live_mirror.mget(client, [second])  # 40 bytes > 25: emptied, then holds the new one
    assert first not in live_mirror._entries and second in live_mirror._entries


def test_a_dropped_copy_gives_its_bytes_back(live_mirror, other, monkeypatch):
    monkeypatch.setattr("common.redis_mirror.MAX_BYTES", 25)
    first, second = live_mirror.prefix + "k:one", live_mirror.prefix + "k:two"
    settled(live_mirror, lambda: other.set(first, b"x" * 20))
    settled(live_mirror, lambda: other.set(second, b"y" * 20))
    client = Counting()
    live_mirror.mget(client, [first])
    settled(live_mirror, lambda: other.set(first, b"z" * 20))  # its copy is dropped
    live_mirror.mget(client, [second])  # 20 bytes held, not 40: nothing else goes
    assert live_mirror._stored_bytes == 20 and second in live_mirror._entries


def test_a_key_that_is_not_watched_is_always_fetched(live_mirror, other):
    key = live_mirror.prefix + "elsewhere"
    other.set(key, b"v1")
    client = Counting()
    live_mirror.mget(client, [key])
    live_mirror.mget(client, [key])
    assert client.calls == 2


@pytest.mark.parametrize("change", ["set", "delete", "expire"])
def test_a_change_by_another_connection_drops_the_copy(live_mirror, other, change):
    key = live_mirror.prefix + "k:b"
    settled(live_mirror, lambda: other.set(key, b"v1"))
    client = Counting()
    assert live_mirror.mget(client, [key]) == [b"v1"]
    if change == "set":
        settled(live_mirror, lambda: other.set(key, b"v2"))
    elif change == "delete":
        settled(live_mirror, lambda: other.delete(key))
    else:
        other.pexpire(key, 20)
        assert wait_for(lambda: not other.exists(key))  # expired: its notification follows
        assert wait_for(lambda: key not in live_mirror._entries)
    assert live_mirror.mget(client, [key]) == [{"set": b"v2"}.get(change)]
    assert client.calls == 2 or change == "expire"  # (a read may come before the expiry)


def test_an_absent_key_is_held_as_absent_until_it_is_created(live_mirror, other):
    key = live_mirror.prefix + "k:c"
    client = Counting()
    assert live_mirror.mget(client, [key]) == [None]
    assert live_mirror.mget(client, [key]) == [None]
    assert client.calls == 1
    settled(live_mirror, lambda: other.set(key, b"now"))
    assert key not in live_mirror._entries
    assert live_mirror.mget(client, [key]) == [b"now"]


def test_a_write_during_a_fetch_never_leaves_the_older_value_behind(live_mirror, other):
    key = live_mirror.prefix + "k:d"
    settled(live_mirror, lambda: other.set(key, b"old"))
    seq = []

    def write_then_wait_for_its_notification():
        seq.append(live_mirror._seq)
        other.set(key, b"new")
        assert wait_for(lambda: live_mirror._seq != seq[0])

    client = Counting(after_fetch=write_then_wait_for_its_notification)
    assert live_mirror.mget(client, [key]) == [b"old"]  # what Redis held when read
    assert key not in live_mirror._entries  # ... but not kept
    assert live_mirror.mget(client, [key]) == [b"new"]


def test_a_write_of_another_key_during_a_fetch_does_not_stop_it_being_kept(live_mirror, other):
    # Under load some notification arrives during almost every fetch: only one for the
    # fetched key itself may keep its value out of the mirror.
    key, neighbour = live_mirror.prefix + "k:n1", live_mirror.prefix + "k:n2"
    settled(live_mirror, lambda: other.set(key, b"v"))
    client = Counting(after_fetch=lambda: settled(live_mirror, lambda: other.set(neighbour, b"x")))
    assert live_mirror.mget(client, [key]) == [b"v"]
    assert live_mirror.mget(client, [key]) == [b"v"]
    assert client.calls == 1  # the second read was answered by the mirror


def test_a_reset_during_a_fetch_keeps_nothing(live_mirror, other):
    key = live_mirror.prefix + "k:r"
    settled(live_mirror, lambda: other.set(key, b"v"))
    client = Counting(after_fetch=live_mirror.clear)
    assert live_mirror.mget(client, [key]) == [b"v"]
    assert key not in live_mirror._entries and live_mirror._inflight == {}


def test_keys_without_notifications_drop_on_an_invalidation_message(live_mirror, other):
    key = live_mirror.prefix + "quiet:e"
    other.set(key, b"v1")  # (no notification: nothing to wait for)
    client = Counting()
    assert live_mirror.mget(client, [key]) == [b"v1"]
    other.set(key, b"v2")  # no keyspace subscription for this prefix: the copy stays
    time.sleep(0.05)
    assert live_mirror.mget(client, [key]) == [b"v1"]
    publish_invalidation(other, [key])
    assert wait_for(lambda: key not in live_mirror._entries)
    assert live_mirror.mget(client, [key]) == [b"v2"]


def test_nothing_is_served_from_the_process_while_the_subscription_is_down(live_mirror, other):
    key = live_mirror.prefix + "k:f"
    other.set(key, b"v1")
    client = Counting()
    live_mirror.mget(client, [key])
    other.client_kill_filter(_type="pubsub")  # the subscriber's connection is cut
    assert wait_for(lambda: not live_mirror._live or key not in live_mirror._entries)
    other.set(key, b"v2")  # (while it may be away: its notification could be lost)
    assert live_mirror.mget(client, [key]) == [b"v2"]
    assert wait_for(lambda: live_mirror._live), "the mirror never subscribed again"
    assert live_mirror.mget(client, [key]) == [b"v2"]


def test_the_mirror_switches_keyspace_notifications_on(settings, other):
    settings.REDIS_MIRROR = True
    other.config_set("notify-keyspace-events", "")
    m = Mirror()
    m.watch("test-mirror-flags:")
    try:
        m.mget(other, ["test-mirror-flags:x"])
        assert wait_for(lambda: m._live)
        flags = other.config_get("notify-keyspace-events")["notify-keyspace-events"]
        assert set("K$gxe") <= set(flags)
    finally:
        m._pid = None


def test_off_by_setting_every_read_goes_to_redis(settings, other):
    settings.REDIS_MIRROR = False
    m = Mirror()
    m.watch("test-mirror-off:")
    client = Counting()
    m.mget(client, ["test-mirror-off:x"])
    m.mget(client, ["test-mirror-off:x"])
    assert client.calls == 2 and m._thread is None


@pytest.mark.django_db(transaction=True)
def test_a_deactivation_by_another_process_refuses_the_next_request(
    settings, other, api_client, ops_admin
):
    """The API's mirror holds the caller's identity copy and the auth epoch; another
    process deactivates the user (the database row, then a new epoch in Redis): once
    Redis's notification arrives, the next request is refused."""
    settings.REDIS_MIRROR = True
    settings.OVERVIEW_AUTH_CACHE_S = 3600  # the copy alone would serve for an hour
    mirror.clear()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(ops_admin)}")
    url = "/api/dashboard/metrics/attempts/timeseries"
    assert api_client.get(url).status_code == 200
    assert wait_for(lambda: mirror._live)
    assert api_client.get(url).status_code == 200  # copy and epoch now mirrored
    assert identity._epoch_key() in mirror._entries
    type(ops_admin).objects.filter(pk=ops_admin.pk).update(is_active=False)  # no signal here
    other.set(identity._epoch_key(), uuid.uuid4().hex)
    assert wait_for(lambda: identity._epoch_key() not in mirror._entries)
    assert api_client.get(url).status_code == 401
