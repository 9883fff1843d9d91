"""Database helpers every app may use (common/ sits below all of them)."""

from django.db import connection


def bound_cursor():
    """A psycopg cursor with server-side binding on Django's connection, so in the
    caller's transaction: parameters (whole batch arrays) travel as parameters
    instead of being rendered into the SQL text value by value."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)
