"""Widget config validation per type (hypothesis, derandomized): valid settings pass and
round-trip, each bad setting is a 400 naming `config.<setting>`, nothing else escapes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.errors import ValidationFailed
from dashboard.widgets.choices import WidgetType
from dashboard.widgets.schemas import SCHEMAS, validate_config

KINDS = ["platform", "merchant", "agent", "bank", "region"]
TYPES = list(WidgetType.values)
PROPS = settings(max_examples=60, derandomize=True, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def valid_value(f):
    """A strategy of the values the field's own rule accepts."""
    if f.kind == "enum":
        return st.sampled_from(f.choices)
    if f.kind == "multi":
        return st.lists(st.sampled_from(f.choices), unique=True)
    if f.kind == "int":
        return st.integers(int(f.minimum), int(f.maximum))
    if f.kind == "number":
        return st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-1000, 1000)
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "text":
        letters = 3 if "{3}" in f.pattern else 2
        return st.none() | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=letters,
                                    max_size=letters)  # fmt: skip
    if f.kind == "time":
        return st.none() | st.sampled_from(["2026-11-01T00:00:00Z", "2026-11-20T10:00:00+01:00"])
    if f.kind == "bbox":
        return st.tuples(st.floats(-180, -1), st.floats(-90, -1), st.floats(0, 180),
                         st.floats(0, 90)).map(list)  # fmt: skip
    raise AssertionError(f.kind)


def bad_value(f):
    """A strategy of values the field's rule refuses (wrong type or out of range)."""
    wrong_type = st.sampled_from([{"a": 1}, [1, "x"], "  ", True, 1.5, -7])
    if f.kind == "enum":
        return st.text(min_size=1, max_size=8).filter(lambda v: v not in f.choices) | wrong_type
    if f.kind == "multi":
        return st.sampled_from([["nope"], "open", [1], {"a": 1}, [f.choices[0]] * 2])
    if f.kind == "int":
        return st.sampled_from([f.maximum + 1, f.minimum - 1, 2.5, "3", True, None])
    if f.kind == "number":
        return st.sampled_from(["1", True, [1], {"v": 1}])
    if f.kind == "bool":
        return st.sampled_from(["true", 1, 0, [], {}])
    if f.kind == "text":
        return st.sampled_from(["xof", "XOFF", "X0F", 12, ["XOF"], "s"])
    if f.kind == "time":
        return st.sampled_from(["2026-11-01", "2026-11-01T00:00Z", "yesterday", 5,
                                "2026-13-01T00:00:00Z", "3000-01-01T00:00:00Z"])  # fmt: skip
    if f.kind == "bbox":
        return st.sampled_from([[0, 0, 0, 0], [1, 2, 3], [10, 0, -10, 5], [-200, 0, 0, 10],
                                "1,2,3,4", [0, 0, float("inf"), 1]])  # fmt: skip
    raise AssertionError(f.kind)


@st.composite
def valid_configs(draw, widget_type):
    return {f.name: draw(valid_value(f)) for f in SCHEMAS[widget_type]
            if draw(st.booleans())}  # fmt: skip


@PROPS
@given(data=st.data(), widget_type=st.sampled_from(TYPES), kind=st.sampled_from(KINDS))
def test_valid_settings_pass_or_are_refused_naming_a_setting_and_round_trip(
    data, widget_type, kind
):
    config = data.draw(valid_configs(widget_type))
    try:
        cleaned = validate_config(widget_type, config, kind)
    except ValidationFailed as exc:
        # Only rules between settings (or between the type and the scope) may refuse it.
        assert exc.errors and all(k.startswith("config.") or k == "type" for k in exc.errors)
        return
    assert set(cleaned) == {f.name for f in SCHEMAS[widget_type]}
    assert validate_config(widget_type, cleaned, kind) == cleaned


@PROPS
@given(data=st.data(), widget_type=st.sampled_from(TYPES))
def test_a_bad_setting_is_refused_naming_exactly_that_setting(data, widget_type):
    f = data.draw(st.sampled_from(SCHEMAS[widget_type]))
    value = data.draw(bad_value(f))
    with pytest.raises(ValidationFailed) as raised:
        validate_config(widget_type, {f.name: value}, "platform")
    assert f"config.{f.name}" in raised.value.errors


@PROPS
@given(
    widget_type=st.sampled_from(TYPES),
    key=st.text(min_size=1, max_size=12).filter(lambda k: k.isidentifier()),
)
def test_an_unknown_setting_is_named(widget_type, key):  # fmt: skip
    if key in {f.name for f in SCHEMAS[widget_type]}:
        return
    with pytest.raises(ValidationFailed) as raised:
        validate_config(widget_type, {key: 1}, "platform")
    assert f"config.{key}" in raised.value.errors


@pytest.mark.django_db
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    widget_type=st.sampled_from(TYPES),
    config=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=6,
    ),
)
def test_the_api_answers_any_config_with_201_or_a_400_naming_config(
    client_for, ops_admin, widget_type, config
):  # fmt: skip
    r = client_for(ops_admin).post(
        "/api/dashboard/widgets", {"type": widget_type, "title": "t", "config": config},
        format="json",
    )  # fmt: skip
    assert r.status_code in (201, 400), r.content
    if r.status_code == 400:
        assert all(k.startswith("config") for k in r.json()["errors"]), r.json()


@pytest.mark.parametrize("widget_type, config, field", [
    ("chart_line", {"metric": "gmv"}, "config.currency"),
    ("chart_bar", {"metric": "attempts", "from": "2026-11-01T00:00:00Z"}, "config.to"),
    ("chart_bar", {"metric": "attempts", "from": "2026-11-02T00:00:00Z",
                   "to": "2026-11-01T00:00:00Z"}, "config.from"),
    ("chart_line", {"metric": "attempts", "period": "90d", "granularity": "hour"},
     "config.granularity"),
    ("gauge", {"figure": "attempts", "min": 10, "max": 5}, "config.max"),
    ("gauge", {"figure": "attempts", "max": 5, "warning": 7}, "config.warning"),
    ("gauge", {"figure": "gmv"}, "config.currency"),
    ("alert_list", {"limit": 51}, "config.limit"),
    ("alert_list", {"status": ["closed"]}, "config.status"),
])  # fmt: skip
def test_rules_between_settings_name_the_setting(widget_type, config, field):
    with pytest.raises(ValidationFailed) as raised:
        validate_config(widget_type, config, "platform")
    assert field in raised.value.errors


@pytest.mark.parametrize("widget_type, config, kind, field", [
    ("map", {}, "merchant", "type"),
    ("map", {}, "bank", "type"),
    ("table", {"entity": "agents"}, "region", "config.entity"),
    ("table", {"entity": "merchants"}, "merchant", "config.entity"),
    ("list", {"source": "dead_letters"}, "region", "config.source"),
    ("list", {"source": "ops_actions"}, "merchant", "config.source"),
])  # fmt: skip
def test_a_type_that_the_scope_cannot_show_is_refused(widget_type, config, kind, field):
    with pytest.raises(ValidationFailed) as raised:
        validate_config(widget_type, config, kind)
    assert field in raised.value.errors
