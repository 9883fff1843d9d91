"""Database outages: how to recognise one, and what the API may still answer during one.

- `is_database_error(exc)`: a failed connect, a dropped connection, a server gone
  away (Django's OperationalError / InterfaceError, whatever the driver said).
  Such a request is answered 503 with Retry-After (common/middleware.py, common/api.py).
- `note_failure()` / `note_success()` / `database_down()`: a per-process marker
  of the last failure, so a reader that did not touch the database itself (the
  overview served from Redis) still knows to flag its answer degraded.
"""

import time

import psycopg
from django.db import InterfaceError, OperationalError

# Django's wrappers, and the driver's own (raised unwrapped by code on a raw psycopg
# cursor, common/db.py). A lock or statement timeout is an OperationalError too:
# "try again shortly" is the right answer to it as well.
DATABASE_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
# Seconds a client is told to wait (Retry-After) when the database cannot be reached.
RETRY_AFTER_S = 10
# A failure marks this process's database "down" this long unless a success clears it.
_DOWN_WINDOW_S = 30.0
_down_at = 0.0


def is_database_error(exc):
    return isinstance(exc, DATABASE_ERRORS)


def note_failure():
    global _down_at
    _down_at = time.monotonic()


def note_success():
    global _down_at
    _down_at = 0.0


def database_down():
    """Whether this process saw the database fail in the last seconds (and not recover since)."""
    return bool(_down_at) and time.monotonic() - _down_at < _DOWN_WINDOW_S
