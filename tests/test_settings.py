"""Settings come from the environment; a bad value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _check(env_overrides, *args):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://x@h/db"),
        ("REDIS_URL", "http://nope"),
        ("KAFKA_BATCH_SIZE", "lots"),
        ("DJANGO_ENV", "staging"),
        ("SNAPSHOT_REFRESH_INTERVAL_S", "0"),
    ],
)
def test_bad_environment_value_stops_startup_naming_the_variable(name, value):
    result = _check({name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_production_mode_requires_a_secret_key():
    result = _check({"DJANGO_ENV": "production", "SECRET_KEY": "", "ALLOWED_HOSTS": "x.example"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy():
    result = _check(
        {
            "DJANGO_ENV": "production",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "dash.molam.example",
            "SECRET_KEY": "q8Zt1-vY3mK0pL5xW9cR2bN7hJ4fG6dS-aE8uI0oP3lK5jH7gF9dS2aQ4wE6rT8y",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    # Not one warning, and the only silenced check is gis.W001 (settings.py says why).
    assert "System check identified no issues (1 silenced)." in result.stdout, result.stdout


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "dash.molam.example",
    "SECRET_KEY": "q8Zt1-vY3mK0pL5xW9cR2bN7hJ4fG6dS-aE8uI0oP3lK5jH7gF9dS2aQ4wE6rT8y",
}

_PROBE = """
import json
from django.conf import settings
from django.test import Client
r = Client().get("/login", secure=True, HTTP_HOST="dash.molam.example")
csrf = r.cookies[settings.CSRF_COOKIE_NAME]
print(json.dumps({
    "status": r.status_code,
    "headers": {k.lower(): v for k, v in r.headers.items()},
    "csrf_cookie": {"name": settings.CSRF_COOKIE_NAME, "secure": bool(csrf["secure"]),
                    "httponly": bool(csrf["httponly"]), "samesite": csrf["samesite"]},
    "session_cookie": {"name": settings.SESSION_COOKIE_NAME,
                       "secure": settings.SESSION_COOKIE_SECURE,
                       "httponly": settings.SESSION_COOKIE_HTTPONLY,
                       "samesite": settings.SESSION_COOKIE_SAMESITE},
}))
"""


def test_production_mode_sends_the_security_headers_and_locks_the_cookies():
    import json

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200
    headers = probe["headers"]
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ):
        assert directive in csp, csp
    for cookie in (probe["csrf_cookie"], probe["session_cookie"]):
        assert cookie["name"].startswith("__Host-")
        assert cookie["secure"] and cookie["httponly"]
        assert cookie["samesite"] == "Lax"


def test_the_map_tile_server_is_the_only_other_image_origin():
    from config.security import content_security_policy

    img = content_security_policy(map_tile_url="https://{s}.tiles.example/{z}/{x}/{y}.png")
    assert img["DIRECTIVES"]["img-src"] == ["'self'", "data:", "https://*.tiles.example"]
    own = content_security_policy(map_tile_url="/tiles/{z}/{x}/{y}.png")
    assert own["DIRECTIVES"]["img-src"] == ["'self'", "data:"]
