"""Admin of snapshots: FX rates, snapshots."""
