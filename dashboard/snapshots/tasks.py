"""Snapshot refresh jobs; registered under dashboard.tasks.* names (see dashboard/tasks.py)."""
