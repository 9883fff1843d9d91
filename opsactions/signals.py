"""Signals of the ops actions, for the apps above (SIRA) and beside it to follow an
action without being imported by it.

``action_changed`` is sent after the commit of every status change of an action
(creation included: an action is created pending approval), with ``action_id``,
``status`` (the new one), ``previous`` (the former one, None on creation) and
``action_type``. Receivers run outside the transaction that changed the action: they
read it again if they need more, and their failures do not undo the change.
"""

from django.dispatch import Signal

action_changed = Signal()
