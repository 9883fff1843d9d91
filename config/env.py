"""Typed reading of environment variables: a bad value stops start-up naming the variable."""

import os
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured


def _raw(name, default):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_str(name, default):
    return _raw(name, default)


def env_bool(name, default):
    value = _raw(name, None)
    if value is None:
        return default
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true/false)")


def env_int(name, default, *, minimum=None):
    value = _raw(name, None)
    if value is None:
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and parsed < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}")
    return parsed


def env_list(name, default):
    value = _raw(name, None)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name, default, choices):
    value = _raw(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


def database_from_url(name, default):
    """DATABASE_URL (postgis:// or postgres://) to a Django DATABASES entry on PostGIS."""
    url = _raw(name, default)
    parsed = urlparse(url)
    if parsed.scheme not in {"postgis", "postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{name}={url!r}: scheme must be postgis://, postgres:// or postgresql://"
        )
    if not parsed.hostname or not parsed.path.strip("/"):
        raise ImproperlyConfigured(f"{name}={url!r}: needs a host and a database name")
    try:
        port = parsed.port or 5432
    except ValueError:
        raise ImproperlyConfigured(f"{name}={url!r}: bad port") from None
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname,
        "PORT": str(port),
    }


def redis_url(name, default):
    url = _raw(name, default)
    if urlparse(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name}={url!r}: must be a redis:// or rediss:// URL")
    return url
