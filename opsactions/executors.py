"""One executor per action type: `execute` writes the effect, `rollback` undoes it.

Both run inside the service's transaction (in a savepoint, with the outbox
row). Each executor reads a *state* (a small JSON-safe dict, or None when no
control row exists) under a row lock, checks it, and only then writes the new
one; the action keeps {"before", "after"} and rollback restores "before" only
if the current state is still "after" (otherwise someone changed it since:
refuse rather than clobber).
"""

from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError

from agents import services as agent_services
from agents.choices import AgentStatus
from agents.models import Agent
from common.db import violated_constraint
from opsactions.choices import ActionType, ControlStatus
from opsactions.models import (
    MerchantControl,
    PayoutControl,
    PayoutRoute,
    ReconciliationRequest,
    SettlementHold,
    ThresholdOverride,
    TransactionReversal,
)
from opsactions.params import decimal_text


class ExecutorError(Exception):
    """The effect cannot be applied; the action fails with this message."""


class Executor:
    """Base: `read` the current state (locked), check it, then `write` the new one.

    Every check runs before the first write, so a refusal never depends on the
    savepoint undoing a half-applied effect.
    """

    def read(self, action):
        """The current state (None when no control row exists), locked until commit."""
        raise NotImplementedError

    def write(self, action, state, now):
        raise NotImplementedError

    def precondition(self, action, current):
        """Raise ExecutorError when the effect makes no sense in the current state."""

    def desired(self, action, now, current):
        raise NotImplementedError

    def execute(self, action, now):
        current = self.read(action)
        self.precondition(action, current)
        after = self.desired(action, now, current)
        self.write(action, after, now)
        return current, after

    def rollback(self, action, now):
        before, after = action.result.get("before"), action.result.get("after")
        current = self.read(action)
        if current != after:
            # Someone changed it since the execution: refuse rather than clobber.
            raise ExecutorError(
                f"state changed since execution (now {current!r}, expected {after!r}); "
                "not rolled back"
            )
        self.write(action, before, now)
        return after, before


class RowExecutor(Executor):
    """A state held in one control row of `model`, found by `lookup(action)`; None: no row."""

    model = None

    def lookup(self, action):
        raise NotImplementedError

    def to_state(self, row):
        raise NotImplementedError

    def to_fields(self, state):
        raise NotImplementedError

    def read(self, action):
        row = self.model.objects.select_for_update().filter(**self.lookup(action)).first()
        return self.to_state(row) if row else None

    def write(self, action, state, now):
        rows = self.model.objects.filter(**self.lookup(action))
        if state is None:
            rows.delete()
            return
        fields = {**self.to_fields(state), "action": action, "updated_at": now}
        # The row read is locked until commit, so this update cannot lose a change.
        if not rows.update(**fields):
            self.model.objects.create(**self.lookup(action), **fields)


class PayoutPause(RowExecutor):
    model = PayoutControl
    paused = True

    def lookup(self, action):
        return {"scope": action.target}

    def to_state(self, row):
        return {"paused": row.paused, "reason_code": row.reason_code}

    def to_fields(self, state):
        return {"paused": state["paused"], "reason_code": state["reason_code"]}

    def desired(self, action, now, current):
        return {"paused": self.paused, "reason_code": action.params.get("reason_code", "")}


class PayoutResume(PayoutPause):
    paused = False

    def precondition(self, action, current):
        if not (current and current["paused"]):
            raise ExecutorError(f"payouts of {action.target} are not paused")


class MerchantFreeze(RowExecutor):
    model = MerchantControl
    status = ControlStatus.FROZEN

    def lookup(self, action):
        return {"merchant_id": action.target_id}

    def to_state(self, row):
        return {"status": row.status, "reason_code": row.reason_code}

    def to_fields(self, state):
        return state

    def desired(self, action, now, current):
        return {"status": str(self.status), "reason_code": action.params.get("reason_code", "")}


class MerchantUnfreeze(MerchantFreeze):
    status = ControlStatus.ACTIVE

    def precondition(self, action, current):
        if not (current and current["status"] == ControlStatus.FROZEN):
            raise ExecutorError(f"merchant {action.target_id} is not frozen")


class HoldSet(RowExecutor):
    model = SettlementHold

    def lookup(self, action):
        return {"merchant_id": action.target_id}

    def to_state(self, row):
        return {
            "active": row.active,
            "kind": row.kind,
            "percent": None if row.percent is None else decimal_text(row.percent),
            "amount": None if row.amount is None else decimal_text(row.amount),
            "currency": row.currency,
            "until": row.until.isoformat() if row.until else None,
        }

    def to_fields(self, state):
        return {
            "active": state["active"],
            "kind": state["kind"],
            "percent": None if state["percent"] is None else Decimal(state["percent"]),
            "amount": None if state["amount"] is None else Decimal(state["amount"]),
            "currency": state["currency"] or "",
            "until": state["until"],
        }

    def desired(self, action, now, current):
        p = action.params
        return {
            "active": True,
            "kind": p["kind"],
            "percent": p.get("percent"),
            "amount": p.get("amount"),
            "currency": p.get("currency", ""),
            "until": (now + timedelta(days=int(p["days"]))).isoformat(),
        }


class HoldRelease(HoldSet):
    def precondition(self, action, current):
        if not (current and current["active"]):
            raise ExecutorError(f"merchant {action.target_id} has no active hold")

    def desired(self, action, now, current):
        return {**current, "active": False}


class RouteSet(RowExecutor):
    model = PayoutRoute

    def lookup(self, action):
        return {"country": action.target_id}

    def to_state(self, row):
        return {"bank_id": row.bank_id}

    def to_fields(self, state):
        return state

    def desired(self, action, now, current):
        return {"bank_id": action.params["bank_id"]}


class ThresholdSet(RowExecutor):
    model = ThresholdOverride

    def lookup(self, action):
        return {"scope": action.target, "key": action.params["key"]}

    def to_state(self, row):
        return {"value": decimal_text(row.value)}

    def to_fields(self, state):
        return {"value": Decimal(state["value"])}

    def desired(self, action, now, current):
        return {"value": action.params["value"]}


class AgentExecutor(Executor):
    """Agent rows belong to the agents app: read here (locked), written through its services."""

    field = ""

    def read(self, action):
        rows = list(
            Agent.objects.select_for_update()
            .filter(agent_id=action.target_id)
            .values_list(self.field, flat=True)
        )
        if not rows:
            raise ExecutorError(f"agent {action.target_id} not found")
        return self.to_state(rows[0])


class AgentStatusSet(AgentExecutor):
    field = "status"
    status = AgentStatus.FROZEN

    def to_state(self, value):
        return {"status": str(value)}

    def desired(self, action, now, current):
        return {"status": str(self.status)}

    def write(self, action, state, now):
        agent_services.agent_set_status(agent_id=action.target_id, status=state["status"])


class AgentUnfreeze(AgentStatusSet):
    status = AgentStatus.ACTIVE

    def precondition(self, action, current):
        if current["status"] != AgentStatus.FROZEN:
            raise ExecutorError(f"agent {action.target_id} is not frozen")


class AgentFloatLimitSet(AgentExecutor):
    field = "float_limit"

    def to_state(self, value):
        return None if value is None else {"float_limit": decimal_text(value)}

    def desired(self, action, now, current):
        return {"float_limit": action.params["float_limit"]}

    def write(self, action, state, now):
        agent_services.agent_set_float_limit(
            agent_id=action.target_id,
            float_limit=None if state is None else Decimal(state["float_limit"]),
        )


class Irreversible(Executor):
    """A one-way effect: `execute` records it; a rollback is refused."""

    def rollback(self, action, now):
        raise ExecutorError(f"{action.get_action_type_display()} cannot be rolled back")


class ReconciliationForce(Irreversible):
    """Records the request; the command tells the recon worker."""

    def execute(self, action, now):
        ReconciliationRequest.objects.create(
            bank_id=action.target_id, date=action.params["date"], action=action, created_at=now
        )
        return None, {"bank_id": action.target_id, "date": action.params["date"]}


class TransactionReverse(Irreversible):
    """One reversal per transaction id, ever (unique row)."""

    def execute(self, action, now):
        p = action.params
        already = ExecutorError(f"transaction {p['transaction_id']} was already reversed")
        if TransactionReversal.objects.filter(transaction_id=p["transaction_id"]).exists():
            raise already
        try:
            # The unique constraint still decides between two executions racing past the
            # check (the service's savepoint undoes the failed insert).
            TransactionReversal.objects.create(
                transaction_id=p["transaction_id"],
                merchant_id=action.target_id,
                amount=Decimal(p["amount"]),
                currency=p["currency"],
                reason=p["reason"],
                action=action,
                created_at=now,
            )
        except IntegrityError as exc:
            if violated_constraint(exc) != "reversal_one_per_transaction":
                raise
            raise already from exc
        return None, {k: p[k] for k in ("transaction_id", "amount", "currency")}


EXECUTORS = {
    ActionType.PAUSE_PAYOUT: PayoutPause(),
    ActionType.RESUME_PAYOUT: PayoutResume(),
    ActionType.FREEZE_MERCHANT: MerchantFreeze(),
    ActionType.UNFREEZE_MERCHANT: MerchantUnfreeze(),
    ActionType.FREEZE_AGENT: AgentStatusSet(),
    ActionType.UNFREEZE_AGENT: AgentUnfreeze(),
    ActionType.SET_HOLD: HoldSet(),
    ActionType.RELEASE_HOLD: HoldRelease(),
    ActionType.ROUTE_PAYOUT: RouteSet(),
    ActionType.ADJUST_THRESHOLD: ThresholdSet(),
    ActionType.ADJUST_AGENT_FLOAT_LIMIT: AgentFloatLimitSet(),
    ActionType.FORCE_RECONCILIATION: ReconciliationForce(),
    ActionType.REVERSE_TRANSACTION: TransactionReverse(),
}


def executor_for(action_type):
    return EXECUTORS[action_type]
