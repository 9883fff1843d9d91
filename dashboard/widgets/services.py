"""Writes of widgets: create, change, remove, move many at once, reset to the default.

A user arranges its own copy of a layout: the first change a user makes in a scope
copies the layout it sees (the scope's shared layout or its kind's default) into
personal widgets, in the same transaction as the change, and the change applies to
the copy. Shared and default layouts are arranged in the admin. "Reset to default"
deletes the user's copy, so the shared layout shows again.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from common.errors import NotFound, ValidationFailed
from dashboard.models import Widget
from dashboard.models.widgets import GRID_COLUMNS
from dashboard.widgets.schemas import validate_config
from dashboard.widgets.selectors import personal_widgets, shared_widgets

MAX_ROW = 200  # a layout deeper than this is a mistake, not a dashboard
MAX_HEIGHT = 20
MAX_WIDGETS = 40  # per user and scope
MAX_TITLE = 120


def validate_position(position, *, field="position"):
    """{x, y, w, h} as ints on the 12-column grid; ValidationFailed naming `field.<part>`."""
    if not isinstance(position, dict):
        raise ValidationFailed("Invalid position.", errors={field: ["Must be {x, y, w, h}."]})
    errors = {}
    out = {}
    limits = {"x": (0, GRID_COLUMNS - 1), "y": (0, MAX_ROW), "w": (1, GRID_COLUMNS),
              "h": (1, MAX_HEIGHT)}  # fmt: skip
    for key, (lo, hi) in limits.items():
        value = position.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            errors[f"{field}.{key}"] = [f"Must be a whole number from {lo} to {hi}."]
        else:
            out[key] = value
    unknown = set(position) - set(limits)
    for key in sorted(unknown):
        errors[f"{field}.{key}"] = ["Unknown part: a position is {x, y, w, h}."]
    if not errors and out["x"] + out["w"] > GRID_COLUMNS:
        errors[f"{field}.w"] = [f"x + w must not pass the {GRID_COLUMNS} columns."]
    if errors:
        raise ValidationFailed("Invalid position.", code="invalid_position", errors=errors)
    return out


def _title(title):
    # NUL: PostgreSQL text cannot hold it (the insert would fail, a 500).
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE or "\x00" in title:
        raise ValidationFailed(
            "Invalid title.", errors={"title": [f"1 to {MAX_TITLE} characters."]}
        )
    return title.strip()


def _lock_user(actor):
    # One writer per user at a time: two first changes racing would both copy the layout.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()


def _personalize(actor, scope):
    """The actor's widgets of `scope`, copied from the layout it sees when it has none
    yet; returns {id shown before: the actor's widget}."""
    mine = list(personal_widgets(actor, scope))
    if mine:
        return {w.pk: w for w in mine}
    mapping = {}
    for source in shared_widgets(scope):
        copy = Widget.objects.create(
            scope_kind=scope.kind, scope_id=scope.id, owner=actor, type=source.type,
            title=source.title, x=source.x, y=source.y, w=source.w, h=source.h,
            config=source.config,
        )  # fmt: skip
        mapping[source.pk] = copy
    return mapping


def _own_copy(actor, scope, widget_id):
    mapping = _personalize(actor, scope)
    target = mapping.get(widget_id)
    if target is None:
        raise NotFound(f"Widget {widget_id} not found.", code="widget_not_found")
    return Widget.objects.select_for_update().get(pk=target.pk)


def widget_create(*, actor, scope, type, title, config=None, position=None):
    """Add a widget to the actor's layout of `scope` (already checked viewable)."""
    title = _title(title)
    cleaned = validate_config(type, config, scope.kind)
    pos = validate_position(position or {"x": 0, "y": 0, "w": 4, "h": 3})
    with transaction.atomic():
        _lock_user(actor)
        mapping = _personalize(actor, scope)
        if len(mapping) >= MAX_WIDGETS:
            raise ValidationFailed(
                "Too many widgets.",
                code="too_many_widgets",
                errors={"type": [f"At most {MAX_WIDGETS} widgets per home page."]},
            )
        return Widget.objects.create(
            scope_kind=scope.kind, scope_id=scope.id, owner=actor, type=type, title=title,
            config=cleaned, **pos,
        )  # fmt: skip


def widget_update(*, actor, scope, widget_id, title=None, config=None, position=None):
    """Change the title, config or position of a widget of the actor's layout of `scope`
    (the actor's copy of it, made now if needed); returns the changed widget."""
    fields = []
    with transaction.atomic():
        _lock_user(actor)
        widget = _own_copy(actor, scope, widget_id)
        if title is not None:
            widget.title = _title(title)
            fields.append("title")
        if config is not None:
            widget.config = validate_config(widget.type, config, scope.kind)
            fields.append("config")
        if position is not None:
            for key, value in validate_position(position).items():
                setattr(widget, key, value)
            fields += ["x", "y", "w", "h"]
        if fields:
            widget.save(update_fields=[*fields, "updated_at"])
        return widget


def widget_delete(*, actor, scope, widget_id):
    """Remove a widget from the actor's layout of `scope`."""
    with transaction.atomic():
        _lock_user(actor)
        _own_copy(actor, scope, widget_id).delete()


def widgets_layout_update(*, actor, scope, items):
    """Move and resize many widgets of the actor's layout of `scope` at once: all or none.

    `items`: [{"id", "x", "y", "w", "h"}]; ids are those the actor was shown (its own,
    or the shared layout's before its first change). Returns the actor's layout.
    """
    if not isinstance(items, list) or not items:
        raise ValidationFailed("Invalid layout.", errors={"items": ["A non-empty list."]})
    errors = {}
    moves = []
    seen = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"items.{i}"] = ["Must be {id, x, y, w, h}."]
            continue
        wid = item.get("id")
        if not isinstance(wid, int) or isinstance(wid, bool):
            errors[f"items.{i}.id"] = ["A widget id."]
            continue
        if wid in seen:
            errors[f"items.{i}.id"] = ["Listed twice."]
            continue
        seen.add(wid)
        try:
            pos = validate_position(
                {k: v for k, v in item.items() if k != "id"}, field=f"items.{i}"
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        moves.append((i, wid, pos))
    if errors:
        raise ValidationFailed("Invalid layout.", code="invalid_layout", errors=errors)
    with transaction.atomic():
        _lock_user(actor)
        mapping = _personalize(actor, scope)
        missing = [f"items.{i}.id" for i, wid, _pos in moves if wid not in mapping]
        if missing:
            # Raising rolls back the copy as well: nothing of the call stays.
            raise ValidationFailed(
                "Unknown widget in the layout.",
                code="invalid_layout",
                errors={name: ["Not a widget of this layout."] for name in missing},
            )
        locked = {
            w.pk: w
            for w in Widget.objects.select_for_update().filter(
                pk__in=[mapping[wid].pk for _i, wid, _p in moves]
            )
        }
        for _i, wid, pos in moves:
            widget = locked[mapping[wid].pk]
            for key, value in pos.items():
                setattr(widget, key, value)
            widget.save(update_fields=["x", "y", "w", "h", "updated_at"])
    return list(personal_widgets(actor, scope))


def widgets_reset(*, actor, scope):
    """Drop the actor's own layout of `scope`: its home shows the shared (default) one again."""
    with transaction.atomic():
        _lock_user(actor)
        deleted, _ = personal_widgets(actor, scope).delete()
    return deleted
