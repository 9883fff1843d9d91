"""One executor per action type: `execute` writes the effect, `rollback` undoes it.

Both run inside the service's transaction (in a savepoint), so an exception
leaves no partial effect. Each executor swaps a *state* (a small JSON-safe
dict, or None when no control row exists) and returns the previous one; the
action keeps {"before", "after"} and rollback restores "before" only if the
current state is still "after" (otherwise someone changed it since: refuse
rather than clobber).
"""

from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction

from agents import services as agent_services
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
    """Base: `desired` state, `swap` it in (returning the previous state)."""

    def desired(self, action, now):
        raise NotImplementedError

    def precondition(self, action, current):
        """Raise ExecutorError when the effect makes no sense in the current state."""

    def swap(self, action, state, now):
        raise NotImplementedError

    def execute(self, action, now):
        after = self.desired(action, now)
        before = self.swap(action, after, now, check=self.precondition)
        return before, after

    def rollback(self, action, now):
        before, after = action.result.get("before"), action.result.get("after")

        def still_after(_action, current):
            if current != after:
                raise ExecutorError(
                    f"state changed since execution (now {current!r}, expected {after!r}); "
                    "not rolled back"
                )

        self.swap(action, before, now, check=still_after)
        return after, before


class _RowExecutor(Executor):
    """Swap a state held in one control row, looked up by `key(action)`; None deletes it."""

    model = None
    lookup = ""

    def key(self, action):
        return action.target_id

    def to_state(self, row):
        raise NotImplementedError

    def to_fields(self, state):
        raise NotImplementedError

    def swap(self, action, state, now, check=None):
        filters = {self.lookup: self.key(action)}
        row = self.model.objects.select_for_update().filter(**filters).first()
        previous = self.to_state(row) if row else None
        if check:
            check(action, previous)
        if state is None:
            if row:
                row.delete()
        else:
            self.model.objects.update_or_create(
                **filters, defaults={**self.to_fields(state), "action": action, "updated_at": now}
            )
        return previous


class PayoutPause(_RowExecutor):
    model, lookup = PayoutControl, "scope"
    paused = True

    def key(self, action):
        return action.target

    def to_state(self, row):
        return {"paused": row.paused, "reason_code": row.reason_code}

    def to_fields(self, state):
        return {"paused": state["paused"], "reason_code": state["reason_code"]}

    def desired(self, action, now):
        return {"paused": self.paused, "reason_code": action.params.get("reason_code", "")}


class PayoutResume(PayoutPause):
    paused = False

    def precondition(self, action, current):
        if not (current and current["paused"]):
            raise ExecutorError(f"payouts of {action.target} are not paused")


class MerchantFreeze(_RowExecutor):
    model, lookup = MerchantControl, "merchant_id"
    status = ControlStatus.FROZEN

    def to_state(self, row):
        return {"status": row.status, "reason_code": row.reason_code}

    def to_fields(self, state):
        return state

    def desired(self, action, now):
        return {"status": str(self.status), "reason_code": action.params.get("reason_code", "")}


class MerchantUnfreeze(MerchantFreeze):
    status = ControlStatus.ACTIVE

    def precondition(self, action, current):
        if not (current and current["status"] == ControlStatus.FROZEN):
            raise ExecutorError(f"merchant {action.target_id} is not frozen")


class HoldSet(_RowExecutor):
    model, lookup = SettlementHold, "merchant_id"

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

    def desired(self, action, now):
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
    def execute(self, action, now):
        row = SettlementHold.objects.select_for_update().filter(merchant_id=action.target_id)
        row = row.first()
        if not (row and row.active):
            raise ExecutorError(f"merchant {action.target_id} has no active hold")
        before = self.to_state(row)
        after = {**before, "active": False}
        self.swap(action, after, now)
        return before, after


class RouteSet(_RowExecutor):
    model, lookup = PayoutRoute, "country"

    def to_state(self, row):
        return {"bank_id": row.bank_id}

    def to_fields(self, state):
        return state

    def desired(self, action, now):
        return {"bank_id": action.params["bank_id"]}


class ThresholdSet(_RowExecutor):
    model, lookup = ThresholdOverride, "key"

    def swap(self, action, state, now, check=None):
        row = (
            ThresholdOverride.objects.select_for_update()
            .filter(scope=action.target, key=action.params["key"])
            .first()
        )
        previous = {"value": decimal_text(row.value)} if row else None
        if check:
            check(action, previous)
        if state is None:
            if row:
                row.delete()
        else:
            ThresholdOverride.objects.update_or_create(
                scope=action.target,
                key=action.params["key"],
                defaults={"value": Decimal(state["value"]), "action": action, "updated_at": now},
            )
        return previous

    def desired(self, action, now):
        return {"value": action.params["value"]}


class AgentStatusSet(Executor):
    """Agent status lives in the agents app: go through its service."""

    status = "frozen"

    def desired(self, action, now):
        return {"status": self.status}

    def precondition(self, action, current):
        pass

    def swap(self, action, state, now, check=None):
        previous = agent_services.agent_set_status(
            agent_id=action.target_id, status=state["status"] if state else "active"
        )
        previous = {"status": str(previous)} if previous is not None else None
        if check:
            check(action, previous)
        return previous


class AgentUnfreeze(AgentStatusSet):
    status = "active"

    def precondition(self, action, current):
        if not (current and current["status"] == "frozen"):
            raise ExecutorError(f"agent {action.target_id} is not frozen")


class AgentFloatLimitSet(Executor):
    def desired(self, action, now):
        return {"float_limit": action.params["float_limit"]}

    def swap(self, action, state, now, check=None):
        previous = agent_services.agent_set_float_limit(
            agent_id=action.target_id,
            float_limit=None if state is None else Decimal(state["float_limit"]),
        )
        previous = None if previous is None else {"float_limit": decimal_text(previous)}
        if check:
            check(action, previous)
        return previous


class ReconciliationForce(Executor):
    """Not reversible: records the request; the command tells the recon worker."""

    def execute(self, action, now):
        ReconciliationRequest.objects.create(
            bank_id=action.target_id, date=action.params["date"], action=action, created_at=now
        )
        return None, {"bank_id": action.target_id, "date": action.params["date"]}

    def rollback(self, action, now):
        raise ExecutorError("a forced reconciliation cannot be rolled back")


class TransactionReverse(Executor):
    """Not reversible: one reversal per transaction id, ever (unique row)."""

    def execute(self, action, now):
        p = action.params
        try:
            with transaction.atomic():
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
            raise ExecutorError(f"transaction {p['transaction_id']} was already reversed")
        return None, {k: p[k] for k in ("transaction_id", "amount", "currency")}

    def rollback(self, action, now):
        raise ExecutorError("a reversal cannot be rolled back")


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
