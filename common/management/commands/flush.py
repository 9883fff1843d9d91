"""`flush` as the schema's owner when DATABASE_OWNER_URL is set: the application role
may truncate nothing (docs/database-roles.md). Transactional tests end with a flush;
without the owner's credentials it fails, as it should.

Without sequence reset (the transactional tests' flush), only the tables that hold rows
are truncated (CASCADE takes in an empty table that references one), and content types
and permissions are kept: the post_migrate signal that follows a flush would write
exactly those rows again. TRUNCATE costs file operations for every table and index it
names; naming every table made each transactional test's teardown cost about half a
second. With sequence reset (`manage.py flush`), every table is truncated, as Django does.
"""

from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as FlushCommand
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections

from common import dbroles

# Rows post_migrate writes again, identical, after every flush.
KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})


def tables_holding_rows(connection):
    """Django's tables with at least one row, content types and permissions excepted."""
    tables = [
        t
        for t in connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        if t not in KEPT_TABLES
    ]
    if not tables:
        return []
    quote = connection.ops.quote_name
    probe = " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(probe, tables)
        return [row[0] for row in cursor.fetchall()]


class Command(FlushCommand):
    def handle(self, **options):
        database = options["database"]
        with dbroles.as_owner(database):
            if options.get("reset_sequences", True) or options["interactive"]:
                return super().handle(**options)
            connection = connections[database]
            tables = tables_holding_rows(connection)
            if not tables:
                return None
            sql_list = connection.ops.sql_flush(
                self.style, tables, reset_sequences=False, allow_cascade=True
            )
            try:
                connection.ops.execute_sql_flush(sql_list)
            except Exception as exc:
                raise CommandError(f"Database {database} couldn't be flushed: {exc}") from exc
            if not options.get("inhibit_post_migrate", False):
                emit_post_migrate_signal(options["verbosity"], False, database)
        return None
