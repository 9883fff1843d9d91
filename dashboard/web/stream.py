"""The Transactions page: the newest events of a scope, pushed live by server-sent events.

Why server-sent events from the WSGI web (gunicorn gthread) and not WebSockets
on an ASGI server: the page only listens, EventSource reconnects and resumes
(`Last-Event-ID`) by itself, and it keeps `make up` to one web process with the
same session sign-in as every page. The cost is a web thread per open stream,
so each connection is bounded (STREAM_CONNECTION_S, then the browser reconnects
without losing or repeating an entry) and sends a keep-alive every
STREAM_HEARTBEAT_S, whose failed write ends the stream of a client that went
away; scripts/stack.sh gives gunicorn the threads for it.
"""

import logging
import re
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.scope import is_platform_staff, resolve_scope
from common.errors import DomainError
from dashboard import stream
from dashboard.choices import EventType, Source

log = logging.getLogger("dashboard.web.stream")

_ENTRY_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
RETRY_MS = 1500  # the browser's wait before reconnecting (sent as `retry:`)


@login_required
def stream_page(request):
    """The live table of the newest events of one scope (the rows come from `stream_events`)."""
    context = {
        "staff": is_platform_staff(request.user),
        "scope": request.GET.get("scope", ""),
        "types": EventType.values,
        "sources": Source.choices,
        "row_cap": 200,
    }
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        context["error"] = exc.detail
        return render(request, "dashboard/stream.html", context, status=exc.status_code)
    context["scope"] = str(scope)
    return render(request, "dashboard/stream.html", context)


def stream_events(request):
    """Server-sent events of one scope's feed: the latest entries (or those after
    Last-Event-ID), then new ones as they are written, for STREAM_CONNECTION_S."""
    if not request.user.is_authenticated:
        # Not a redirect to the sign-in page: EventSource cannot follow it usefully.
        return HttpResponse(
            _("Sign in to follow the stream."), status=401, content_type="text/plain"
        )
    try:
        scope = resolve_scope(request.user, request.GET.get("scope"))
    except DomainError as exc:
        return HttpResponse(exc.detail, status=exc.status_code, content_type="text/plain")
    last_id = request.headers.get("Last-Event-ID") or request.GET.get("last_id") or ""
    if not _ENTRY_ID.match(last_id):
        last_id = ""
    response = StreamingHttpResponse(
        _events(str(scope), last_id), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
    return response


def _frame(entries):
    """[(entry id, JSON bytes)] -> one SSE chunk (`id:` lets the browser resume there)."""
    return b"".join(b"id: %s\ndata: %s\n\n" % (i.encode(), data) for i, data in entries)


def _events(scope, last_id):
    """The body of one stream connection (a generator: gunicorn writes each chunk as it comes)."""
    stream.STREAMS_OPEN.inc()
    if not connection.in_atomic_block:
        # Nothing here needs the database after the sign-in check: give its
        # connection back now instead of holding it idle for the whole stream.
        connection.close()
    try:
        deadline = time.monotonic() + settings.STREAM_CONNECTION_S
        try:
            first = stream.feed_after(scope, last_id) if last_id else stream.feed_latest(scope)
        except Exception:
            log.warning("live feed of %s unreadable", scope, exc_info=True)
            # Tells the page to show "reconnecting"; the browser tries again later.
            yield b"retry: %d\nevent: unavailable\ndata: \n\n" % (RETRY_MS * 4)
            return
        # The cursor: the newest entry sent; "0-0" when the feed is empty, so the
        # first entry ever written is not missed between this read and the next.
        cursor = first[-1][0] if first else (last_id or "0-0")
        yield b"retry: %d\n\n" % RETRY_MS + _frame(first)
        while (left := deadline - time.monotonic()) > 0:
            try:
                entries = stream.feed_wait(scope, cursor, min(settings.STREAM_HEARTBEAT_S, left))
            except Exception:
                log.warning("live feed of %s unreadable", scope, exc_info=True)
                return  # the browser reconnects after `retry` and resumes from its last id
            if entries:
                cursor = entries[-1][0]
                yield _frame(entries)
            else:
                # A write to a client that went away fails here, which ends this
                # generator and frees the thread.
                yield b": keep-alive\n\n"
    finally:
        stream.STREAMS_OPEN.dec()
