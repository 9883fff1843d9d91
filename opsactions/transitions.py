"""The five transitions a console offers on an existing action: which service each calls and
which text it takes. The admin and the web console both dispatch through this table, so a
button does the same thing in both (the services decide; selectors.action_transitions says
which buttons to show)."""

from collections.abc import Callable
from dataclasses import dataclass

from opsactions import services
from opsactions.choices import Transition


@dataclass(frozen=True)
class TransitionSpec:
    """How one transition is called: `call(actor, action_id, text, params_hash, context)`."""

    call: Callable
    # Which text the service stores: "comment", "reason", or "" (none).
    text: str
    text_required: bool


TRANSITIONS = {
    Transition.APPROVE: TransitionSpec(
        lambda u, a, text, h, ctx: services.action_approve(
            actor=u, action_id=a, comment=text, params_hash=h or None, context=ctx
        ),
        "comment",
        False,
    ),
    Transition.REJECT: TransitionSpec(
        lambda u, a, text, h, ctx: services.action_reject(
            actor=u, action_id=a, reason=text, context=ctx
        ),
        "reason",
        True,
    ),
    Transition.EXECUTE: TransitionSpec(
        lambda u, a, text, h, ctx: services.action_execute(actor=u, action_id=a, context=ctx),
        "",
        False,
    ),
    Transition.ROLLBACK: TransitionSpec(
        lambda u, a, text, h, ctx: services.action_rollback(
            actor=u, action_id=a, reason=text, context=ctx
        ),
        "reason",
        True,
    ),
    Transition.CANCEL: TransitionSpec(
        lambda u, a, text, h, ctx: services.action_cancel(
            actor=u, action_id=a, reason=text, context=ctx
        ),
        "reason",
        False,
    ),
}


def transition_apply(verb, *, actor, action_id, text="", params_hash=None, context=None):
    """Call the service behind `verb` (a Transition value) and return the action."""
    return TRANSITIONS[verb].call(actor, action_id, text, params_hash, context)
