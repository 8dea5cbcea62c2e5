"""The runtime role (migration 0013): rows in every table, and no DDL anywhere.

``database_url`` is the suite's runtime login (``tds_app``, a member of ``tds_runtime``): every
integration and end-to-end test runs the services with it, so they are shown to work with these
grants. Here: what it must not be able to do.
"""

from __future__ import annotations

import psycopg
import pytest

from devstack import postgres as devpg

REFUSED = [
    "CREATE TABLE public.intruder (id int)",
    "CREATE TABLE zoho.intruder (id int)",
    "CREATE SCHEMA intruder",
    "ALTER TABLE tds_sync_runs ADD COLUMN intruder int",
    "ALTER TABLE zoho.products DROP COLUMN name",
    "DROP TABLE tds_inbox_events",
    "TRUNCATE zoho.invoices",
    "CREATE INDEX intruder_idx ON tds_sync_queue (status)",
    "DELETE FROM _yoyo_migration",
    "CREATE ROLE intruder",
]


def test_the_services_log_in_as_the_runtime_role(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        user, member, superuser = conn.execute(
            "SELECT current_user, pg_has_role(current_user, 'tds_runtime', 'MEMBER'),"
            " rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() or (None, None, None)
    assert (user, member, superuser) == (devpg.RUNTIME_LOGIN, True, False)


@pytest.mark.parametrize("statement", REFUSED)
def test_the_runtime_role_cannot_change_the_schema(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_runtime_role_reads_and_writes_rows(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO tds_sync_runs (id, run_type, entity_type, source_type, status, org_id)"
            " VALUES (gen_random_uuid(), 'full', 'products', 'books', 'cancelled', 'o1')"
        )
        conn.execute("UPDATE tds_sync_runs SET status = 'failed' WHERE status = 'cancelled'")
        conn.execute("DELETE FROM tds_sync_runs WHERE status = 'failed'")
        applied = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
        conn.rollback()
    assert applied and applied[0] > 0  # tds doctor reads what was migrated


def test_tables_of_later_migrations_get_the_same_grants(migration_database_url: str) -> None:
    """Default privileges: a table the migration role creates after 0013 is usable at once."""
    runtime_url = devpg.with_user(migration_database_url, devpg.RUNTIME_LOGIN)
    with psycopg.connect(migration_database_url) as owner:
        owner.execute("CREATE TABLE zoho.later_table (id int)")
        owner.commit()
    try:
        with psycopg.connect(runtime_url) as conn:
            conn.execute("INSERT INTO zoho.later_table VALUES (1)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DROP TABLE zoho.later_table")
    finally:
        with psycopg.connect(migration_database_url) as owner:
            owner.execute("DROP TABLE zoho.later_table")
