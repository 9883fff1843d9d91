"""Receivers of the ops actions' signals (opsactions cannot import sira)."""


def follow_action(sender, *, action_id, status, previous=None, action_type=None, **kwargs):
    """action_changed receiver: move the recommendation the action came from."""
    from sira.services import recommendation_follow_action

    recommendation_follow_action(action_id=action_id, status=status)
