"""Models of the dashboard app, one module per area (each owned by one sub-package)."""

from dashboard.models.aggregates import DirtyChange, DirtyScope, HourlyAggregate
from dashboard.models.ingest import *  # noqa: F403
from dashboard.models.snapshots import *  # noqa: F403
from dashboard.models.widgets import *  # noqa: F403

__all__ = ["DirtyChange", "DirtyScope", "HourlyAggregate"]
