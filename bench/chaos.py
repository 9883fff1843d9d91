"""Chaos run against the running dev stack (`make up`): faults while producing, then an exact check.

While contract events are produced at a steady rate (--rate) through the
project's producer (dashboard/ingest/producer.py), with about 5 % resends of
events already sent (same bytes, or re-serialized with another UTC offset) and
about 1 % invalid ones (every dead-letter reason of the contract), faults are
injected in rounds:

  consumer-kill         SIGKILL of the consumer process
  worker-kill           SIGKILL of one of the consumer's worker processes
  pg-restart-fast       pg_ctl restart -m fast
  pg-restart-immediate  pg_ctl restart -m immediate (crash recovery)
  pg-outage             pg_ctl stop, 20 s down (--outage), start
  consumer-kill-catchup a burst of events (--burst); once the broker has them, SIGKILL of the
                        consumer while it works through that backlog
  broker-pause          SIGSTOP of the broker for 30 s (--pause), then SIGCONT

After each fault the run waits until ingestion commits again (the consumer
group's committed offsets advance) and reports the seconds. When the stack does
not bring a killed consumer back within --restart-wait seconds, this script
starts it itself (as scripts/stack.sh does, same log and pid file) and says so.

At the end, once the consumer group has committed everything sent, every
(scope, hour, currency) figure of the run is compared EXACTLY with an
independent computation from the events produced (tests/e2e_reference.py):
the run's merchants, agents and banks (ids unique to the run) and the region
scopes of the countries only this script uses (platform rows of those
countries, minus what they held before the run). Also: every invalid event
dead-lettered exactly once with its expected reason, no valid event
dead-lettered, every valid event id in the seen-id store.

Environment: `scripts/stack.sh env dev` (so STACK_PORT_OFFSET picks a second
copy of the stack). Run as root or as the user owning the stack (it signals the
stack's processes and runs pg_ctl as postgres). Destructive for the duration:
do not run it against a stack others are using.

    .venv/bin/python bench/chaos.py                      # about 8 minutes, ~90k events
    STACK_PORT_OFFSET=300 .venv/bin/python bench/chaos.py --rate 300

The last output line is one JSON object; exit status 1 when a check fails,
2 when the stack is not running.
"""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from datetime import timezone as tz
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = ROOT / ".venv" / "bin" / "python"
PG_BIN = "/usr/lib/postgresql/15/bin"

COUNTS = ("attempts", "success_count", "failed_count", "refunds_count", "disputes_count",
          "payouts_count", "payouts_failed_count", "fraud_count")  # fmt: skip
MONEY = ("gmv", "fees", "revenue", "refunds_amount", "disputes_amount", "payouts_amount",
         "fraud_amount", "cash_in_amount", "cash_out_amount")  # fmt: skip
FIGURES = COUNTS + MONEY
# The reference's countries mapped to ones the demo traffic never uses, so the
# region scopes of these countries hold only this script's events.
COUNTRY_MAP = {"SN": "MR", "CI": "GM", "ML": "SL", "GH": "LR", "NG": "CV"}
RUN_COUNTRIES = (*COUNTRY_MAP.values(), "ZZ")

ROUNDS = ("consumer-kill", "worker-kill", "pg-restart-fast", "pg-restart-immediate", "pg-outage",
          "consumer-kill-catchup", "broker-pause")  # fmt: skip
T0 = time.monotonic()


def log(msg):
    print(f"[chaos {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def stack_env():
    """The dev stack's environment (scripts/stack.sh env dev, STACK_PORT_OFFSET honoured)."""
    out = subprocess.run(
        ["bash", "-c", f'eval "$(bash {ROOT}/scripts/stack.sh env dev)" && env -0'],
        capture_output=True,
        check=True,
    ).stdout
    keys = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SESSION_TIMEOUT_MS",
            "KAFKA_HEARTBEAT_INTERVAL_MS", "KAFKA_MAX_POLL_INTERVAL_MS", "WEB_PORT",
            "MOLAM_RUN_DIR", "DJANGO_ENV")  # fmt: skip
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    for k in keys:
        if k in env:
            os.environ[k] = env[k]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def fail_stack(reason):
    log(f"the dev stack is not running: {reason}")
    log("start it with: make up (or STACK_PORT_OFFSET=N scripts/stack.sh up dev && ... app-up)")
    print(json.dumps({"error": "dev stack not running", "detail": str(reason)}))
    sys.exit(2)


# ------------------------------------------------------------------ processes


def _read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def scan():
    """Live processes of this stack: [(pid, ppid, argv)] (by MOLAM_RUN_DIR or broker in env)."""
    run, boot = os.environ["MOLAM_RUN_DIR"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    marks = (f"MOLAM_RUN_DIR={run}".encode(), f"KAFKA_BOOTSTRAP_SERVERS={boot}".encode())
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            env = _read(f"/proc/{d}/environ").split(b"\0")
            if not any(m in env for m in marks):
                continue
            argv = [a.decode(errors="replace") for a in _read(f"/proc/{d}/cmdline").split(b"\0")]
            stat = _read(f"/proc/{d}/stat", "r").rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] in ("Z", "X"):
            continue
        out.append((int(d), int(stat[1]), argv))
    return out


def consumers():
    """Pids of the stack's consume_events processes (not their workers)."""
    return sorted(
        pid
        for pid, _ppid, argv in scan()
        if "consume_events" in argv and "python" in Path(argv[0]).name
    )


def workers_of(pid):
    return sorted(p for p, ppid, argv in scan() if ppid == pid and "spawn_main" in " ".join(argv))


def web_port():
    """The port the stack's gunicorn listens on (its --bind), else WEB_PORT."""
    for _pid, _ppid, argv in scan():
        if any("gunicorn" in a for a in argv[:2]) and "--bind" in argv:
            bind = argv[argv.index("--bind") + 1]
            return bind.rsplit(":", 1)[1]
    return os.environ.get("WEB_PORT", "8800")


def alive(pid):
    try:
        stat = _read(f"/proc/{pid}/stat", "r").rsplit(")", 1)[1].split()
    except OSError:
        return False
    return stat[0] not in ("Z", "X")


class Stack:
    """Faults and restarts on the stack's own processes and files."""

    def __init__(self):
        self.run = Path(os.environ["MOLAM_RUN_DIR"])
        self.started = []  # consumers this script started (Popen), reaped as they die
        self.restarts_by_script = 0

    # consumer
    def wait_consumer(self, old, seconds):
        """A consumer other than `old` within `seconds` -> its pid, else None."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for p in self.started:
                p.poll()
            now = [c for c in consumers() if c not in old]
            if now:
                return now[0]
            time.sleep(0.2)
        return None

    def start_consumer(self):
        """What scripts/stack.sh start_part does for the consumer: own session, its log and pid."""
        app = self.run / "app"
        app.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(app / "prometheus"))
        with open(app / "consumer.log", "ab") as out:
            proc = subprocess.Popen(
                [str(PY), "manage.py", "consume_events"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (app / "consumer.pid").write_text(f"{proc.pid}\n")
        self.started.append(proc)
        self.restarts_by_script += 1
        return proc.pid

    # postgres
    @property
    def pg_root(self):
        return (self.run / "pg").resolve()

    def pg_ctl(self, *args, check=True):
        cmd = ["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D",
               str(self.pg_root / "data"), *args]  # fmt: skip
        # A clean environment: the server must not inherit this script's (stack variables).
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        return subprocess.run(cmd, cwd="/", env=env, capture_output=True, text=True, check=check)

    def pg_running(self):
        return self.pg_ctl("status", check=False).returncode == 0

    def pg_restart(self, mode):
        # restart reuses the options of the last start (postmaster.opts), also
        # when the server is stopped; -l: the stack's own server log.
        self.pg_ctl("-m", mode, "-w", "-t", "120", "-l", str(self.pg_root / "postgres.log"),
                    "restart")  # fmt: skip

    def pg_stop(self):
        self.pg_ctl("-m", "fast", "-w", "stop")

    # broker
    def broker_pid(self):
        return int((self.run / "broker" / "broker.pid").read_text().split()[0])


# ------------------------------------------------------------------ events


class Events:
    """Contract events of this run, from the independent reference's generator."""

    def __init__(self, run, seed):
        import e2e_reference as ref

        self.ref = ref
        self.run = run
        self.rng = random.Random(seed)
        self.n = 0
        self.valid = {}  # event_id -> event (first send)
        self.sent_valid = []  # [(event, bytes)] resend pool
        self.invalid = {}  # tag -> expected reason
        self._bad, self._bad_at = [], 0.0

    def _id(self, prefix, ident):
        return f"cx{self.run}-{prefix}{ident}"

    def valid_event(self, now):
        ref, rng = self.ref, self.rng
        self.n += 1
        e = ref._business_event(rng, self.n, now)
        e["event_id"] = f"chaos-{self.run}-{self.n:07d}"
        # More scopes than the reference's six merchants/agents: a suffix per id.
        if "merchant_id" in e:
            e["merchant_id"] = self._id("m", e["merchant_id"][2:] + rng.choice("abcdef"))
        if "agent_id" in e:
            e["agent_id"] = self._id("a", e["agent_id"][2:] + rng.choice("abcdef"))
        if "bank_id" in e:
            e["bank_id"] = self._id("b", e["bank_id"][2:])
        if "country" in e:
            e["country"] = COUNTRY_MAP[e["country"]]
        raw = ref.encode(e)
        self.valid[e["event_id"]] = e
        self.sent_valid.append((e, raw))
        return e, raw

    def resend(self):
        """An event already sent: the same bytes, or (1 in 4) re-serialized in another offset."""
        e, raw = self.rng.choice(self.sent_valid)
        if self.rng.random() < 0.25:
            again = dict(e)
            at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00"))
            again["occurred_at"] = at.astimezone(tz(timedelta(hours=-3))).isoformat()
            if isinstance(e.get("amount"), self.ref._Num):
                again["amount"] = e["amount"].text
            return again, self.ref.encode(again)
        return e, raw

    def invalid_event(self, now):
        """One contract-breaking message, tagged so its dead letter can be found."""
        if time.monotonic() - self._bad_at > 60:  # future_timestamp cases stay in the future
            self._bad, self._bad_at = self.ref._invalid_events(now), time.monotonic()
        raw, reason = self._bad[len(self.invalid) % len(self._bad)]
        tag = f"chaos-{self.run}-inv-{len(self.invalid):05d}"
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            # An unknown extra field: ignored by the contract, it changes no verdict.
            raw = raw.rstrip()[:-1] + f', "chaos_tag": "{tag}"}}'.encode()
        else:
            raw = raw + f" {tag}".encode()
        self.invalid[tag] = reason
        source = obj.get("source") if isinstance(obj, dict) else None
        return {"source": source if isinstance(source, str) else "connect"}, raw


class Production(threading.Thread):
    """Steady production at `rate`/s; `burst(n)` adds n new events as fast as possible."""

    def __init__(self, sender, events, rate):
        super().__init__(daemon=True)
        self.sender, self.events, self.rate = sender, events, rate
        self.stop = threading.Event()
        self.sent = Counter()
        self._burst = 0
        self.lock = threading.Lock()

    def burst(self, n):
        with self.lock:
            self._burst += n

    def one(self, now):
        r = self.events.rng.random()
        if r < 0.01:
            event, raw = self.events.invalid_event(now)
            self.sent["invalid"] += 1
        elif r < 0.06 and self.events.sent_valid:
            event, raw = self.events.resend()
            self.sent["resend"] += 1
        else:
            event, raw = self.events.valid_event(now)
            self.sent["valid"] += 1
        self.sender.send(event, raw, stopping=self.stop.is_set)

    def run(self):
        start = time.monotonic()
        done = 0
        while not self.stop.is_set():
            now = datetime.now(UTC)
            with self.lock:
                extra, self._burst = self._burst, 0
            for _ in range(extra):
                self.one(now)
            due = int((time.monotonic() - start) * self.rate) - done
            for _ in range(max(0, due)):
                self.one(now)
            done += max(0, due)
            self.sender.resend_failed()
            time.sleep(0.05)


# ------------------------------------------------------------------ progress


class Probe(threading.Thread):
    """Samples the consumer group's committed offsets (sum over the event topics) and health."""

    def __init__(self, group, topics, web_port):
        super().__init__(daemon=True)
        self.group, self.topics, self.web_port = group, topics, web_port
        self.samples = []  # (monotonic, committed total)
        self.health = []  # (monotonic, status)
        self.stop = threading.Event()

    def committed(self, consumer):
        from confluent_kafka import TopicPartition

        md = consumer.list_topics(timeout=3)
        tps = [TopicPartition(t, p) for t in self.topics for p in md.topics[t].partitions]
        return sum(max(tp.offset, 0) for tp in consumer.committed(tps, timeout=3))

    def health_status(self):
        url = f"http://127.0.0.1:{self.web_port}/api/dashboard/health"
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except Exception:
            return 0  # no answer

    def run(self):
        from confluent_kafka import Consumer
        from django.conf import settings

        consumer = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
                             "group.id": self.group, "enable.auto.commit": False})  # fmt: skip
        last_health = 0.0
        try:
            while not self.stop.is_set():
                try:
                    self.samples.append((time.monotonic(), self.committed(consumer)))
                except Exception:  # broker paused or restarting: no sample
                    pass
                if time.monotonic() - last_health > 2:
                    last_health = time.monotonic()
                    self.health.append((last_health, self.health_status()))
                time.sleep(0.5)
        finally:
            consumer.close()

    def wait_commit(self, since, timeout):
        """Seconds from `since` to the first advance of the committed offsets after it."""
        deadline = since + timeout
        base = None
        while time.monotonic() < deadline:
            later = [s for s in self.samples if s[0] >= since]
            if later:
                if base is None:
                    base = later[0][1]
                for t, total in later:
                    if total > base:
                        return round(t - since, 1)
            time.sleep(0.2)
        return None

    def health_between(self, a, b):
        return dict(Counter(str(s) for t, s in self.health if a <= t <= b))


# ------------------------------------------------------------------ figures


def expected_figures(events):
    """{(scope_kind, scope_id, hour, currency): [figures]} by the independent reference."""
    import e2e_reference as ref

    out = defaultdict(lambda: [0] * len(COUNTS) + [Decimal(0)] * len(MONEY))
    for f in ref.facts(events):
        count, amount_fig, fee, _sources = ref.TYPES[f.type]
        if f.type == "agent.float_updated":
            continue
        scopes = [("region", f.country)]
        scopes += [(k, v) for k, v in (("merchant", f.merchant), ("agent", f.agent),
                                       ("bank", f.bank)) if v]  # fmt: skip
        for kind, ident in scopes:
            vec = out[(kind, ident, f.hour, f.currency)]
            if count:
                vec[FIGURES.index(count)] += 1
            if amount_fig:
                vec[FIGURES.index(amount_fig)] += f.amount
            if fee:
                vec[FIGURES.index("fees")] += f.fee
                vec[FIGURES.index("revenue")] += f.fee - f.cost
    return {k: v for k, v in out.items() if any(v)}


def actual_figures(run):
    """The same keys read from the hourly aggregates: the run's own scopes, region rows."""
    from django.db import connection

    sums = ", ".join(f"sum({c})" for c in FIGURES)
    out = {}
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT scope_kind, scope_id, bucket, currency, {sums} FROM dashboard_hourly_aggregate"
            " WHERE scope_kind IN ('merchant', 'agent', 'bank') AND scope_id LIKE %s"
            " GROUP BY 1, 2, 3, 4",
            [f"cx{run}-%"],
        )
        for row in cur.fetchall():
            out[(row[0], row[1], row[2], row[3])] = list(row[4:])
    return out


def region_figures():
    from django.db import connection

    sums = ", ".join(f"sum({c})" for c in FIGURES)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT 'region', country, bucket, currency, {sums} FROM dashboard_hourly_aggregate"
            " WHERE scope_kind = 'platform' AND country = ANY(%s) GROUP BY 2, 3, 4",
            [list(RUN_COUNTRIES)],
        )
        return {(r[0], r[1], r[2], r[3]): list(r[4:]) for r in cur.fetchall()}


def compare(expected, actual):
    keys = set(expected) | set(actual)
    zero = [0] * len(FIGURES)
    diffs = []
    for k in sorted(keys, key=str):
        e, a = expected.get(k, zero), actual.get(k, zero)
        if any(Decimal(x) != Decimal(y) for x, y in zip(e, a, strict=True)):
            diffs.append({"key": [str(x) for x in k],
                          "expected": dict(zip(FIGURES, map(str, e), strict=True)),
                          "actual": dict(zip(FIGURES, map(str, a), strict=True))})  # fmt: skip
    return diffs


def dead_letter_check(run, invalid, since):
    """Each tagged invalid message dead-lettered once with its reason; no valid one."""
    from dashboard.models import DeadLetter

    tag_re = re.compile(rb"chaos-" + run.encode() + rb"-inv-\d{5}")
    id_re = re.compile(rb"chaos-" + run.encode() + rb"-\d{7}")
    seen = Counter()
    wrong_reason = []
    valid_dead = 0
    rows = DeadLetter.objects.filter(received_at__gte=since).values_list("payload", "reason")
    for payload, reason in rows.iterator():
        payload = bytes(payload)
        m = tag_re.search(payload)
        if m:
            tag = m.group().decode()
            seen[tag] += 1
            if tag in invalid and reason != invalid[tag]:
                wrong_reason.append({"tag": tag, "expected": invalid[tag], "got": reason})
        elif id_re.search(payload):
            valid_dead += 1
    return {
        "invalid_sent": len(invalid),
        "dead_lettered_once": sum(1 for t in invalid if seen[t] == 1),
        "missing": sorted(t for t in invalid if seen[t] == 0)[:20],
        "more_than_once": sorted(t for t in invalid if seen[t] > 1)[:20],
        "wrong_reason": wrong_reason[:20],
        "wrong_reason_count": len(wrong_reason),
        "valid_dead_lettered": valid_dead,
        "reasons": dict(Counter(invalid.values())),
    }


def seen_ids_check(run, valid_ids):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dashboard_seen_event WHERE event_id LIKE %s",
                    [f"chaos-{run}-%"])  # fmt: skip
        return {"valid_unique": len(valid_ids), "in_seen_store": cur.fetchone()[0]}


# ------------------------------------------------------------------ rounds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=150, help="events/s produced throughout")
    ap.add_argument("--burst", type=int, default=20000, help="events of the catch-up burst")
    ap.add_argument("--outage", type=float, default=20, help="seconds PostgreSQL stays down")
    ap.add_argument("--pause", type=float, default=30, help="seconds the broker stays stopped")
    ap.add_argument("--settle", type=float, default=15, help="steady seconds between rounds")
    ap.add_argument("--restart-wait", type=float, default=20,
                    help="seconds to wait for the stack to restart a killed consumer")  # fmt: skip
    ap.add_argument("--recovery-timeout", type=float, default=240)
    ap.add_argument("--drain-timeout", type=float, default=900)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rounds", default=",".join(ROUNDS))
    args = ap.parse_args()

    stack_env()
    sys.path.insert(0, str(ROOT / "tests"))
    import django

    try:
        django.setup()
        from django.conf import settings
        from django.db import close_old_connections, connection

        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM dashboard_hourly_aggregate LIMIT 1")
    except Exception as exc:
        fail_stack(exc)
    from dashboard.ingest.producer import EventSender, consumer_group_behind

    stack = Stack()
    if not consumers():
        fail_stack("no consume_events process of this stack is running")
    try:
        stack.broker_pid()
    except OSError as exc:
        fail_stack(exc)

    class Sender(EventSender):
        """The project's sender, plus: messages the broker refused are sent again."""

        def __init__(self):
            super().__init__()
            self.refused = []

        def _on_delivery(self, err, msg):
            super()._on_delivery(err, msg)
            if err is not None:
                self.refused.append((msg.topic(), msg.key(), msg.value()))

        def resend_failed(self):
            while self.refused:
                topic, key, value = self.refused.pop()
                self.failed -= 1
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
            self._producer.poll(0)

    run = uuid.uuid4().hex[:6]
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    group = settings.KAFKA_CONSUMER_GROUP
    log(f"run {run} (seed {seed}) against {os.environ['MOLAM_RUN_DIR']}, "
        f"broker {settings.KAFKA_BOOTSTRAP_SERVERS}, group {group}")  # fmt: skip
    started_at = datetime.now(UTC)
    region_before = region_figures()
    close_old_connections()

    sender = Sender()
    events = Events(run, seed)
    production = Production(sender, events, args.rate)
    probe = Probe(group, settings.KAFKA_EVENT_TOPICS, web_port())
    probe.start()
    production.start()
    time.sleep(args.settle)
    rounds = []

    def after_kill(old_pid, began):
        """Wait for the killed consumer to come back (or restart it), then for a commit."""
        children_before = workers_before.get(old_pid, [])
        new = stack.wait_consumer({old_pid}, args.restart_wait)
        by = "stack"
        if new is None:
            by = "chaos.py"
            log(f"the stack did not restart the consumer within {args.restart_wait:.0f} s: "
                "chaos.py starts it")  # fmt: skip
            new = stack.start_consumer()
        restarted = round(time.monotonic() - began, 1)
        orphans = [w for w in children_before if alive(w)]
        return {"restarted_by": by, "restarted_after_s": restarted, "new_consumer": new,
                "orphan_workers": len(orphans)}  # fmt: skip

    workers_before = {}
    for name in [r.strip() for r in args.rounds.split(",") if r.strip()]:
        info = {"fault": name}
        log(f"round {name}")
        began = time.monotonic()
        if name in ("consumer-kill", "consumer-kill-catchup"):
            pids = consumers()
            if not pids:
                log("no consumer running: starting one first")
                stack.start_consumer()
                time.sleep(10)
                pids = consumers()
            victim = pids[0]
            if name == "consumer-kill-catchup":
                before = consumer_group_behind(group, dict(sender.delivered))
                acked = sum(sender.delivered.values())
                production.burst(args.burst)
                # A backlog: the burst acknowledged by the broker, so the consumer is
                # reading and writing it (batches in flight, little of it committed).
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    if sum(sender.delivered.values()) - acked >= 0.95 * args.burst:
                        break
                    time.sleep(0.1)
                time.sleep(1.0)
                info["behind_at_kill"] = consumer_group_behind(group, dict(sender.delivered))
                info["behind_before_burst"] = before
            workers_before[victim] = workers_of(victim)
            began = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            log(f"SIGKILL consumer {victim}")
            info.update(after_kill(victim, began))
            since = began
        elif name == "worker-kill":
            pids = consumers()
            victim_parent = pids[0] if pids else None
            workers = workers_of(victim_parent) if victim_parent else []
            if not workers:
                info["skipped"] = "no worker process of the consumer found"
                rounds.append(info)
                continue
            workers_before[victim_parent] = [w for w in workers if w != workers[0]]
            began = time.monotonic()
            os.kill(workers[0], signal.SIGKILL)
            log(f"SIGKILL worker {workers[0]} of consumer {victim_parent}")
            time.sleep(5)
            if alive(victim_parent):
                info["consumer_exited"] = False
            else:
                info["consumer_exited"] = True
                info.update(after_kill(victim_parent, began))
            since = began
        elif name in ("pg-restart-fast", "pg-restart-immediate"):
            mode = name.rsplit("-", 1)[1]
            stack.pg_restart(mode)
            info["down_s"] = round(time.monotonic() - began, 1)
            log(f"PostgreSQL restarted ({mode}) in {info['down_s']} s")
            since = time.monotonic()
        elif name == "pg-outage":
            stack.pg_stop()
            log(f"PostgreSQL stopped for {args.outage:.0f} s")
            try:
                time.sleep(args.outage)
            finally:
                stack.pg_restart("fast")
            info["down_s"] = round(time.monotonic() - began, 1)
            since = time.monotonic()
        elif name == "broker-pause":
            pid = stack.broker_pid()
            os.kill(pid, signal.SIGSTOP)
            log(f"broker {pid} stopped (SIGSTOP) for {args.pause:.0f} s")
            try:
                time.sleep(args.pause)
            finally:
                os.kill(pid, signal.SIGCONT)
            since = time.monotonic()
        else:
            raise SystemExit(f"unknown round {name}")
        info["recovery_s"] = probe.wait_commit(since, args.recovery_timeout)
        info["recovery_from_fault_start_s"] = (
            round(info["recovery_s"] + since - began, 1) if info["recovery_s"] is not None else None
        )
        info["health"] = probe.health_between(began, time.monotonic())
        log(f"  {json.dumps(info)}")
        rounds.append(info)
        time.sleep(args.settle)

    production.stop.set()
    production.join()
    left = sender.flush(60)
    sender.resend_failed()
    left = sender.flush(60)
    log(f"produced {dict(production.sent)} ({left} unacknowledged); waiting for the consumer")
    drain_start = time.monotonic()
    behind = None
    while time.monotonic() - drain_start < args.drain_timeout:
        try:
            behind = consumer_group_behind(group, dict(sender.delivered))
        except Exception as exc:
            log(f"lag probe failed: {exc}")
            behind = None
        if behind == 0:
            break
        if not consumers():
            log("no consumer running during the drain: chaos.py starts one")
            stack.start_consumer()
        time.sleep(2)
    drained_s = round(time.monotonic() - drain_start, 1)
    probe.stop.set()
    log(f"drained in {drained_s} s (behind: {behind})")

    connection.close()  # opened before the restarts of PostgreSQL
    expected = expected_figures(events.valid)
    actual = actual_figures(run)
    region_after = region_figures()
    zero = [0] * len(FIGURES)
    for k in set(region_before) | set(region_after):
        a, b = region_after.get(k, zero), region_before.get(k, zero)
        delta = [x - y for x, y in zip(a, b, strict=True)]
        if any(delta):
            actual[k] = delta
    diffs = compare(expected, actual)
    dead = dead_letter_check(run, events.invalid, started_at - timedelta(minutes=1))
    seen = seen_ids_check(run, events.valid)
    by_kind = Counter(k[0] for k in expected)
    ok = (
        behind == 0
        and not diffs
        and left == 0
        and dead["dead_lettered_once"] == dead["invalid_sent"]
        and dead["wrong_reason_count"] == 0
        and dead["valid_dead_lettered"] == 0
        and seen["in_seen_store"] == seen["valid_unique"]
        and all(r.get("skipped") or r.get("recovery_s") is not None for r in rounds)
    )

    print("", file=sys.stderr)
    print(f"chaos run {run}: {'OK' if ok else 'FAILED'}", file=sys.stderr)
    print(f"  produced: {dict(production.sent)} at {args.rate:.0f}/s (+{args.burst} burst), "
          f"{sender.failed} refused by the broker and resent", file=sys.stderr)  # fmt: skip
    for r in rounds:
        extra = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("fault", "health"))
        print(f"  {r['fault']:<22} {extra}  health={r.get('health')}", file=sys.stderr)
    print(f"  figures compared: {len(set(expected) | set(actual))} (scope, hour, currency) "
          f"{dict(by_kind)}; differences: {len(diffs)}", file=sys.stderr)  # fmt: skip
    for d in diffs[:5]:
        print(f"    {json.dumps(d)}", file=sys.stderr)
    print(f"  dead letters: {dead['dead_lettered_once']}/{dead['invalid_sent']} invalid events "
          f"dead-lettered exactly once, wrong reason {dead['wrong_reason_count']}, "
          f"valid dead-lettered {dead['valid_dead_lettered']}", file=sys.stderr)  # fmt: skip
    restarts = stack.restarts_by_script
    print(f"  seen ids: {seen['in_seen_store']}/{seen['valid_unique']}; drained in {drained_s} s;"
          f" consumer restarts by chaos.py: {restarts}", file=sys.stderr)  # fmt: skip
    result = {
        "ok": ok,
        "run": run,
        "seed": seed,
        "rate": args.rate,
        "produced": dict(production.sent),
        "valid_unique": len(events.valid),
        "rounds": rounds,
        "figures_compared": len(set(expected) | set(actual)),
        "figures_by_scope_kind": dict(by_kind),
        "differences": len(diffs),
        "first_differences": diffs[:5],
        "dead_letters": dead,
        "seen_ids": seen,
        "drained_s": drained_s,
        "behind_at_end": behind,
        "consumer_restarts_by_script": stack.restarts_by_script,
    }
    print(json.dumps(result, default=str))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
