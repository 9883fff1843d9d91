"""Bounded fuzzing of the whole API from its own OpenAPI schema (schemathesis).

The schema is the one the app serves (/api/schema/, drf-spectacular); every
operation is called through the WSGI app, in this test's database, with real JWTs
of several roles (platform staff, a merchant admin, an agent, the SIRA service)
and with none. Each generated request, valid by the schema (positive) or not
(negative), must get an answer that:

- is never a server error (5xx);
- has a status code the schema documents, with the documented content type;
- for a request the schema says is invalid, is a 4xx (the schema's limits are
  the server's: scope syntax, bbox, ranges, enumerations, page sizes).

Bounded: SCHEMATHESIS_MAX_EXAMPLES examples per operation and mode (default 10),
so the whole file runs in about a minute; raise it for a longer local run.
Nothing is excluded: the API has no streaming endpoint (the live transaction
stream is a page, /stream/events, outside /api/).
"""

import itertools
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    status_code_conformance,
)

from accounts.choices import Role
from config.wsgi import application
from tests.factories import make_user

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    # Unknown query parameters are ignored, as HTTP APIs do: not a "negative" input.
    allow_extra_parameters=False,
    # The callers' credentials are the test's (real JWTs of each role, or none).
    with_security_parameters=False,
)

_turn = itertools.count()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: requests through the WSGI app must not close the
    test's connection at their end (it is inside the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def role_headers(db):
    """Authorization headers of several roles, and an anonymous caller."""
    users = [
        make_user("fuzz_ops", Role.OPS_ADMIN),
        make_user("fuzz_merchant", Role.MERCHANT_ADMIN, "merchant:m_1"),
        make_user("fuzz_agent", Role.AGENT, "agent:a_1"),
        make_user("fuzz_sira", Role.SIRA_SERVICE),
    ]
    headers = [{"Authorization": f"Bearer {RefreshToken.for_user(u).access_token}"} for u in users]
    return [*headers, {}]


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_without_a_server_error(case, role_headers):
    checks = [*CHECKS]
    if case.operation.path == "/api/dashboard/health":
        # Health answers its documented 503 while a part is down (no Celery worker runs
        # in tests): that is its answer, not a server error; its status is still checked.
        checks.remove(not_a_server_error)
    if case.meta and case.meta.generation.mode == GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    # One caller per example, in turn: every role meets every operation within a few
    # examples, at a fifth of the requests of calling each example with every role.
    headers = role_headers[next(_turn) % len(role_headers)]
    response = case.call(headers=headers)
    if _snapshot_pending(response) and not_a_server_error in checks:
        # A scope without a snapshot yet answers its documented 503 with Retry-After while
        # its first one is computed (a read never computes it): not a server error; its
        # status and content type are still checked.
        checks.remove(not_a_server_error)
    case.validate_response(response, checks=checks)


def _snapshot_pending(response):
    if response.status_code != 503:
        return False
    try:
        code = response.json().get("code")
    except ValueError:
        return False
    retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
    return code == "snapshot_pending" and bool(retry_after)
