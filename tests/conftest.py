"""Fixtures shared by every test: named users per role, JWT API clients, Kafka topics.

Everything runs against the real stack `make test` starts (PostgreSQL+PostGIS,
Redis, Tansu broker): see scripts/run_tests.sh.
"""

import os
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.choices import Role
from tests.factories import make_user

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True, scope="session")
def _read_caches_off():
    """Tests write Redis and the database and read them back at once, in one thread: the
    per-process mirror (whose copies drop when Redis's notification arrives) and the
    stored time-series answers (which do not see a test's uncommitted or truncated rows)
    are off unless a test turns them on (tests/common/test_redis_mirror.py,
    tests/dashboard/test_series_cache.py)."""
    settings.REDIS_MIRROR = False
    settings.SERIES_CACHE_S = 0


@pytest.fixture
def ops_admin(db):
    return make_user("ops_admin", Role.OPS_ADMIN)


@pytest.fixture
def approver_b(db):
    return make_user("approver_b", Role.OPS_ADMIN)


@pytest.fixture
def pay_admin(db):
    return make_user("pay_admin", Role.PAY_ADMIN)


@pytest.fixture
def finance_ops(db):
    return make_user("finance_ops", Role.FINANCE_OPS)


@pytest.fixture
def merchant_admin_m1(db):
    return make_user("merchant_admin_m1", Role.MERCHANT_ADMIN, "merchant:m_1")


@pytest.fixture
def merchant_admin_m2(db):
    return make_user("merchant_admin_m2", Role.MERCHANT_ADMIN, "merchant:m_2")


@pytest.fixture
def agent_user(db):
    return make_user("agent_a1", Role.AGENT, "agent:a_1")


@pytest.fixture
def region_sn(db):
    return make_user("region_sn", Role.OPS_ADMIN, "region:SN")


@pytest.fixture
def sira_service(db):
    return make_user("sira", Role.SIRA_SERVICE)


@pytest.fixture
def outsider(db):
    """A platform-scoped account with no role: sees nothing, may do nothing."""
    from accounts.models import User

    user = User.objects.create_user("outsider", password="pw-test-1234")
    return user


@pytest.fixture
def api_client():
    """An unauthenticated DRF client."""
    return APIClient()


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient sending a real JWT access token for `user`."""

    def make(user):
        client = APIClient()
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def kafka_admin():
    return AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})


@pytest.fixture
def make_topic(kafka_admin):
    """make_topic(prefix, partitions=4) -> a fresh topic name on the real broker."""

    def make(prefix="t", partitions=4):
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        futures = kafka_admin.create_topics([NewTopic(name, partitions, 1)])
        for future in futures.values():
            future.result(timeout=10)
        return name

    return make


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (never a downloaded browser); see ../shared/recipes/browser-tests.md."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/lib/chromium/chromium",
        "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, with static files served as in production: by whitenoise
    from STATIC_ROOT (collectstatic's hashed names), not by Django's finder-based handler,
    which knows no hashed name (scripts/run_tests.sh builds the assets first)."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(request.config.getvalue("liveserver") or "localhost:0", start=False)
    server.thread.static_handler = lambda handler: handler
    server.start()
    request.addfinalizer(server.stop)
    return server


# Database roles (docs/database-roles.md): the test database is created, migrated and
# dropped as the schema's owner (DATABASE_OWNER_URL; the test profile's owner may create
# databases), the tests run as the application role, as the application does.
@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    from common import dbroles

    dbroles.connection_use("owner")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    from common import dbroles

    dbroles.connection_use("app")
    yield
    dbroles.connection_use("owner")
