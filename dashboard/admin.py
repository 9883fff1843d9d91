"""Admin registrations live next to their area; imported here for autodiscovery."""

from dashboard.ingest import admin as ingest_admin  # noqa: F401
from dashboard.snapshots import admin as snapshots_admin  # noqa: F401
from dashboard.widgets import admin as widgets_admin  # noqa: F401
