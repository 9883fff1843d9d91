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
