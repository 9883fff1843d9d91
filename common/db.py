"""Database helpers every app may use (common/ sits below all of them)."""

from django.db import connection


def bound_cursor():
    """A psycopg cursor with server-side binding on Django's connection, so in the
    caller's transaction: parameters (whole batch arrays) travel as parameters
    instead of being rendered into the SQL text value by value."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def violated_constraint(exc):
    """The name of the constraint an IntegrityError violated (None if not known), so a
    caller answers for its own constraint only and re-raises any other."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
