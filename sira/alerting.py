"""SIRA and the alerts app: high and critical recommendations raise an alert (source
`sira`) through alerts.services.alert_raise; auto-remediated actions are announced the
same way; ADJUST_THRESHOLD recommendations are backtested with
alerts.selectors.rule_backtest (how many alerts the proposed threshold would have fired
over the window, beside the current threshold's count)."""

from decimal import Decimal

from accounts.scope import Scope
from alerts.models import AlertRule
from alerts.selectors import rule_backtest
from alerts.services import alert_raise
from opsactions.choices import ActionType
from sira import autoremediation, impact
from sira.choices import Priority
from sira.models import Recommendation
from sira.services import after_intake

# Alert category of each proposed action type (alerts.choices.AlertCategory values).
CATEGORY = {
    ActionType.PAUSE_PAYOUT: "payout",
    ActionType.ROUTE_PAYOUT: "payout",
    ActionType.FREEZE_MERCHANT: "fraud",
    ActionType.FREEZE_AGENT: "fraud",
    ActionType.SET_HOLD: "fraud",
    ActionType.ADJUST_AGENT_FLOAT_LIMIT: "float",
    ActionType.FORCE_RECONCILIATION: "reconciliation",
    ActionType.ADJUST_THRESHOLD: "system",
}
SEVERITY = {Priority.HIGH: "warning", Priority.CRITICAL: "critical"}


@after_intake
def alert_for_recommendation(rec_id):
    """Raise (or bump) the alert of a high or critical recommendation."""
    rec = Recommendation.objects.get(pk=rec_id)
    if rec.priority not in SEVERITY:
        return None
    return alert_raise(
        source="sira",
        category=CATEGORY.get(rec.action_type, "system"),
        severity=SEVERITY[rec.priority],
        scope=Scope.parse(rec.target),
        title=f"SIRA recommends {rec.action_type} on {rec.target}"[:200],
        # One live alert per type and target: a newer recommendation bumps it.
        dedupe_key=f"sira:{rec.rec_type}:{rec.target}",
        message=str(rec.explanation.get("summary", "")),
        labels={
            "recommendation": str(rec.pk),
            "external_id": rec.external_id,
            "model": f"{rec.model_name} {rec.model_version}",
        },
        value=rec.confidence,
    )


def announce_auto_remediation(rec, action):
    """Tell ops that the policy applied an action (people may roll it back)."""
    return alert_raise(
        source="sira",
        category=CATEGORY.get(action.action_type, "system"),
        severity="warning",
        scope=Scope.parse(action.target),
        title=f"Auto-remediation executed {action.action_type} on {action.target}"[:200],
        dedupe_key=f"sira:auto:{action.pk}",
        message=(
            f"Ops action #{action.pk} from SIRA recommendation {rec.external_id} was applied "
            "by the auto-remediation policy. Roll it back from the ops console if needed."
        ),
        labels={"ops_action": str(action.pk), "recommendation": str(rec.pk)},
    )


autoremediation.ANNOUNCERS.append(announce_auto_remediation)


def threshold_backtest(rec, start, end):
    """Alerts the rule keyed by the action's `key` would have fired with the proposed value,
    and with its current threshold, over [start, end). An each:* rule on a non-platform
    target is read for that series only. Per-scope overrides already in force still apply
    to their series (rule_backtest's rule)."""
    key, value = rec.action_params["key"], Decimal(rec.action_params["value"])
    rule = AlertRule.objects.filter(key=key).first()
    if rule is None:
        return {"available": False, "detail": f"No alert rule has the key {key}."}
    scope = None
    if rule.scope.startswith("each:") and rec.target_kind != "platform":
        scope = rec.target
    proposed = rule_backtest(rule, start=start, end=end, threshold=value, scope=scope)
    current = rule_backtest(rule, start=start, end=end, scope=scope)
    return {
        "available": True,
        "rule": key,
        "series": scope or rule.scope,
        "current_threshold": format(rule.threshold, "f"),
        "proposed_threshold": format(value, "f"),
        "alerts": len(proposed),
        "current_alerts": len(current),
        "fired": [
            {
                "scope": f["scope"],
                "fired_at": f["fired_at"].isoformat(),
                "resolved_at": f["resolved_at"].isoformat() if f["resolved_at"] else None,
                "peak": format(f["peak"], "f") if f["peak"] is not None else None,
            }
            for f in proposed[:50]
        ],
    }


impact.BACKTESTS[ActionType.ADJUST_THRESHOLD] = threshold_backtest
