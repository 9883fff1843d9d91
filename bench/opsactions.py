"""Ops-action benchmark: workflow latency, racing approvals, audit verification, outbox relay.

Runs against the DEV stack (`bash scripts/stack.sh up dev`, migrated), never the
test stack. It ADDS rows to that database (users bench_ops_*, actions on
merchant:bench_*, their audit rows, which cannot be deleted by design) and
publishes commands to the topic `ops.commands.bench` (not `ops.commands`).

Measures, through the same services the API and the admin call:
  - one workflow = create -> approve -> approve -> execute (medium risk), per step;
  - 8 threads racing approvals on the same action (checks: exactly the quorum);
  - `audit_verify` over the whole audit table (rows/s);
  - outbox relay to the real broker (commands/s), with the beat's relay out of the
    way: the bench refuses to run while a Celery worker answers on this stack (it
    runs beat's `relay_outbox` and would drain the outbox during the measure; stop
    it with `bash scripts/stack.sh ctl stop beat worker`), drains any older backlog
    first (untimed), then asserts that the timed relay sent exactly the commands
    this run created (`sent == created`, every one of them marked sent).

    .venv/bin/python bench/opsactions.py --actions 200

Prints progress to stderr and ONE JSON object as its last stdout line. Exits
non-zero when the dev stack is not running or a correctness check fails.
"""

import argparse
import json
import math
import os
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgis://molam:molam@127.0.0.1:25432/molam")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:26379/0")
os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29092")
os.environ["KAFKA_OPS_COMMANDS_TOPIC"] = "ops.commands.bench"


def log(msg):
    print(f"[opsactions] {msg}", file=sys.stderr, flush=True)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(times_ms):
    return {
        "n": len(times_ms),
        "p50_ms": round(pct(times_ms, 0.5), 2),
        "p95_ms": round(pct(times_ms, 0.95), 2),
        "max_ms": round(max(times_ms), 2),
    }


def fail(msg, code=1):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(code)


def workers_answering():
    """Celery workers answering a ping on this stack's broker (any of them would run the
    beat's relay_outbox task and take rows from under the measure)."""
    from config.celery import app

    return sorted(app.control.inspect(timeout=1.0).ping() or {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--race-actions", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    try:
        connection.ensure_connection()
        with connection.cursor() as cur:
            cur.execute("SELECT to_regclass('opsactions_auditentry')")
            if cur.fetchone()[0] is None:
                fail("dev database not migrated: run manage.py migrate", 2)
    except Exception as exc:  # noqa: BLE001
        fail(f"dev stack not running (bash scripts/stack.sh up dev): {exc}", 2)

    workers = workers_answering()
    if workers:
        fail(
            f"Celery worker(s) running on this stack ({', '.join(workers)}): they run beat's "
            "relay_outbox and would drain the outbox during the measure; stop them "
            "(bash scripts/stack.sh ctl stop beat worker) and run again",
            2,
        )

    from accounts.choices import Role
    from accounts.services import user_create
    from common.errors import Conflict
    from opsactions import services
    from opsactions.audit import audit_verify
    from opsactions.models import OpsAction, OpsApproval, OutboxMessage
    from opsactions.outbox import outbox_relay

    def user(name, role):
        return user_create(
            username=f"bench_ops_{name}",
            password="bench-pw-1234",
            role=role,
            scope="platform",
            update=True,
        )

    requester, a1, a2 = (
        user("req", Role.OPS_ADMIN),
        user("a1", Role.OPS_ADMIN),
        user("a2", Role.PAY_ADMIN),
    )
    racers = [user(f"r{i}", Role.OPS_ADMIN if i % 2 else Role.PAY_ADMIN) for i in range(8)]
    run = uuid.uuid4().hex[:8]

    steps = {"create": [], "approve": [], "execute": []}
    t_all = time.perf_counter()
    for i in range(args.actions):
        t = time.perf_counter()
        action = services.action_create(
            actor=requester,
            action_type="FREEZE_MERCHANT",
            target=f"merchant:bench_{run}_{i}",
            params={"reason_code": "other"},
            reason="bench",
        )
        steps["create"].append((time.perf_counter() - t) * 1000)
        for voter in (a1, a2):
            t = time.perf_counter()
            services.action_approve(actor=voter, action_id=action.pk)
            steps["approve"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        done = services.action_execute(actor=requester, action_id=action.pk)
        steps["execute"].append((time.perf_counter() - t) * 1000)
        if done.status != "executed":
            fail(f"action {action.pk} ended {done.status}: {done.error}")
    elapsed = time.perf_counter() - t_all
    log(f"{args.actions} workflows in {elapsed:.2f}s")

    # Racing approvals: 8 threads on one action, exactly 2 must land.
    race_ok, race_ms = 0, []
    for i in range(args.race_actions):
        action = services.action_create(
            actor=requester,
            action_type="FREEZE_MERCHANT",
            target=f"merchant:bench_{run}_race_{i}",
            params={"reason_code": "other"},
            reason="bench race",
        )
        barrier = threading.Barrier(len(racers))
        outcomes = []

        def vote(voter, action_id=action.pk, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                services.action_approve(actor=voter, action_id=action_id)
                outcomes.append("ok")
            except Conflict as exc:
                outcomes.append(exc.code)
            finally:
                connection.close()

        threads = [threading.Thread(target=vote, args=(v,)) for v in racers]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        race_ms.append((time.perf_counter() - t) * 1000)
        votes = OpsApproval.objects.filter(action_id=action.pk).count()
        status = OpsAction.objects.get(pk=action.pk).status
        if votes == 2 and status == "approved" and outcomes.count("ok") == 2:
            race_ok += 1
        else:
            fail(f"race on action {action.pk}: {votes} votes, status {status}, {outcomes}")
    log(f"{race_ok}/{args.race_actions} races exact")

    t = time.perf_counter()
    result = audit_verify()
    verify_s = time.perf_counter() - t
    if not result.ok:
        fail(f"audit chain broken at {result.broken_seq}: {result.reason}")
    log(f"verified {result.count} audit rows in {verify_s:.2f}s")

    ours = OutboxMessage.objects.filter(action__target__startswith=f"merchant:bench_{run}_")
    created = ours.count()
    if created != args.actions:
        fail(f"{created} outbox commands for {args.actions} executed actions")
    # Commands created before this run (older bench runs, the demo) are not ours: relay
    # them first, untimed, so the timed relay below sends exactly this run's commands.
    backlog = 0
    while True:
        older = OutboxMessage.objects.filter(sent_at__isnull=True).exclude(pk__in=ours.values("pk"))
        if not older.exists():
            break
        sent, failed = outbox_relay(batch=older.count())
        if failed:
            fail(f"outbox relay of the older backlog: {failed} undelivered")
        backlog += sent
    if ours.filter(sent_at__isnull=False).exists():
        fail("commands of this run were sent before the measure: did another relay run?")
    sent_total, t = 0, time.perf_counter()
    while True:
        sent, failed = outbox_relay()
        sent_total += sent
        if failed:
            fail(f"outbox relay: {failed} undelivered")
        if not sent:
            break
    relay_s = time.perf_counter() - t
    log(f"relayed {sent_total} commands in {relay_s:.2f}s (older backlog first: {backlog})")
    unsent = ours.filter(sent_at__isnull=True).count()
    if sent_total != created or unsent:
        fail(
            f"sent {sent_total} != created {created} ({unsent} of this run unsent): "
            "did another relay run?"
        )

    print(
        json.dumps(
            {
                "ok": True,
                "stack": "dev",
                "workflows": args.actions,
                "workflows_per_s": round(args.actions / elapsed, 1),
                "create": summary(steps["create"]),
                "approve": summary(steps["approve"]),
                "execute": summary(steps["execute"]),
                "race_8_threads": {
                    "actions": args.race_actions,
                    "exact": race_ok,
                    **summary(race_ms),
                },
                "audit_verify": {
                    "rows": result.count,
                    "seconds": round(verify_s, 3),
                    "rows_per_s": round(result.count / verify_s) if verify_s else None,
                },
                "outbox_relay": {
                    "created": created,
                    "sent": sent_total,
                    "older_backlog_sent_first": backlog,
                    "other_relays": "none (no Celery worker answering; sent == created)",
                    "seconds": round(relay_s, 3),
                    "per_s": round(sent_total / relay_s) if relay_s else None,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
