"""Per-scope threshold overrides, from whoever owns them (opsactions' ADJUST_THRESHOLD).

alerts may not import opsactions: opsactions registers a source here instead:

    register_threshold_source(fn)   # fn(key) -> {scope string: Decimal}

Evaluation and the backtest use, for each series of a rule, the override of that
series' scope for the rule's `key` (a `platform` override applies to every series
without one of its own), else the rule's threshold.
"""

_SOURCES = []


def register_threshold_source(fn):
    """Register a function key -> {scope: Decimal value} (idempotent)."""
    if fn not in _SOURCES:
        _SOURCES.append(fn)


def unregister_threshold_source(fn):
    """Remove a registered source (a test's, or a plugin switched off)."""
    if fn in _SOURCES:
        _SOURCES.remove(fn)


def threshold_overrides(key):
    """Every override of `key`, by scope (later sources win)."""
    found = {}
    for fn in _SOURCES:
        found.update(fn(key) or {})
    return found
