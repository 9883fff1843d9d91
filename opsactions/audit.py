"""The tamper-evident audit log: append one chained row, or verify the whole chain.

Each row's hash is SHA-256 over the previous row's hash and a canonical JSON of
its own fields, so changing, inserting or deleting any row breaks the chain
from that row on. A database trigger (migration 0002) refuses UPDATE and
DELETE; `manage.py verify_audit` catches what someone with the power to disable
the trigger did anyway.
"""

import hashlib
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from opsactions.choices import SYSTEM_ACTOR
from opsactions.models import AuditEntry

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the audit chain's advisory lock.
_CHAIN_LOCK_KEY = 0x0A5D17
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who-is-calling details that are not the user: request id and client IP."""

    request_id: str
    client_ip: str | None = None

    @classmethod
    def system(cls, label="system"):
        return cls(request_id=f"{label}:{uuid.uuid4().hex}", client_ip=None)


def _normal_ip(value):
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def context_from_request(request):
    """Request id from X-Request-ID (when well formed) else a new one; IP from REMOTE_ADDR.

    X-Forwarded-For is not trusted: behind a proxy, the proxy must set REMOTE_ADDR
    (gunicorn --forwarded-allow-ips), so a client cannot forge its address in the log.
    """
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    request_id = given if _REQUEST_ID_RE.match(given or "") else uuid.uuid4().hex
    return AuditContext(
        request_id=request_id, client_ip=_normal_ip(request.META.get("REMOTE_ADDR"))
    )


def jsonable(value):
    """JSON-safe copy with exact numbers: Decimal and datetimes become strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit rows (use Decimal)")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _ts(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry):
    """The exact bytes hashed for a row (everything but its own hash)."""
    body = {
        "seq": entry.seq,
        "at": _ts(entry.at),
        "actor_id": entry.actor_id,
        "actor_username": entry.actor_username,
        "actor_role": entry.actor_role,
        "event": entry.event,
        "action_id": entry.action_id,
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
        "client_ip": entry.client_ip,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry):
    return hashlib.sha256(canonical(entry)).hexdigest()


def audit_append(*, event, actor=None, action_id=None, before=None, after=None, context=None):
    """Append one chained audit row; must run inside the caller's transaction.

    The advisory lock serialises appends so two transactions never chain onto
    the same previous row (it is released at commit or rollback).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_append must run inside transaction.atomic()")
    context = context or AuditContext.system()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    entry = AuditEntry(
        seq=seq,
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_username=getattr(actor, "username", "") or "system",
        actor_role=(getattr(actor, "role", "") or "") if actor else SYSTEM_ACTOR,
        event=str(event),
        action_id=action_id,
        before=jsonable(before or {}),
        after=jsonable(after or {}),
        request_id=context.request_id[:128],
        client_ip=_normal_ip(context.client_ip),
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry)
    entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain verification: ok, rows checked, head hash or the first broken row."""

    ok: bool
    count: int
    head: str
    broken_seq: int | None = None
    reason: str = ""


def audit_verify(chunk_size=2000):
    """Walk the chain in order; report the first row whose hash, link or sequence is wrong."""
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                prev_hash,
                entry.seq,
                f"sequence gap: expected {expected_seq}, found {entry.seq} "
                "(rows deleted or inserted)",
            )
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False,
                count,
                prev_hash,
                entry.seq,
                "prev_hash does not match the previous row's hash",
            )
        if entry_hash(entry) != entry.hash:
            return VerifyResult(
                False,
                count,
                prev_hash,
                entry.seq,
                "row content does not match its hash (row modified)",
            )
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    return VerifyResult(True, count, prev_hash)
