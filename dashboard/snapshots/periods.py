"""Period windows of the overview: hour-aligned, ending at the end of the current hour."""

from datetime import UTC, datetime, timedelta

from dashboard.snapshots.choices import SnapshotPeriod

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_LENGTHS = {
    SnapshotPeriod.H24: timedelta(hours=24),
    SnapshotPeriod.D7: timedelta(days=7),
    SnapshotPeriod.D30: timedelta(days=30),
}
PERIODS = tuple(SnapshotPeriod.values)
# Longest look-back any snapshot needs: 30 days and the 30 days before.
MAX_LOOKBACK = 2 * _LENGTHS[SnapshotPeriod.D30]


def floor_hour(t):
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(t):
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(t, step):
    """`t` rounded up to the next hour (step=HOUR) or UTC day (step=DAY) boundary."""
    base = floor_hour(t) if step == HOUR else floor_day(t)
    return base if base == t else base + step


def window(period, now=None):
    """(from, to, previous_from, previous_to) of `period` at `now`.

    `to` is the end of the current hour, so the current hour's events count
    as soon as they are aggregated. `today` starts at 00:00 UTC and compares
    with yesterday up to the same hour; the others compare with the equal
    span just before.
    """
    now = now or datetime.now(UTC)
    to = floor_hour(now) + HOUR
    if period == SnapshotPeriod.TODAY:
        frm, shift = floor_day(now), DAY
    else:
        length = _LENGTHS[SnapshotPeriod(period)]
        frm, shift = to - length, length
    return frm, to, frm - shift, to - shift


def hours(frm, to):
    t = frm
    while t < to:
        yield t
        t += HOUR
