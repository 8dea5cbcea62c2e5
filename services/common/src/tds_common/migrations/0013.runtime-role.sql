-- The runtime role: what the services may do, granted by the role that owns the schema.
-- depends: 0002.zoho-proxy-lane-priority 0005.processor-attempts 0007.bulk-sync-held-sweeps 0009.zoho-proxy-scope-verdicts 0014.replay-and-queue-counts 0015.bulk-sync-idempotency-key 0016.mirror-orders-and-payments
--
-- Migrations run as the migration role, which owns every table (DDL). The services log in as
-- roles that are members of the group role tds_runtime: they read and write rows, and can
-- create, alter, drop or truncate nothing (docs/architecture.md, "Database roles"). One group
-- for every service: their tables overlap (the mirror is written by the processor, bulk-sync
-- and the write-back relay; the control tables by all four), so per-service roles would grant
-- nearly the same and drift.
--
-- The group is created here when the migration role may (CREATEROLE); otherwise an
-- administrator creates it first: CREATE ROLE tds_runtime NOLOGIN.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tds_runtime') THEN
        BEGIN
            CREATE ROLE tds_runtime NOLOGIN;
        EXCEPTION
            -- Another database's migration created it meanwhile (roles are cluster-wide).
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role tds_runtime does not exist and % may not create it', current_user
                    USING HINT = 'As an administrator: CREATE ROLE tds_runtime NOLOGIN; then migrate again.';
        END;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public, zoho TO tds_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, zoho TO tds_runtime;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public, zoho TO tds_runtime;
-- yoyo's bookkeeping is the migration role's: the services (and tds doctor) only read it.
REVOKE INSERT, UPDATE, DELETE ON _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock
    FROM tds_runtime;

-- Tables and sequences later migrations create (as this same role) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public, zoho
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tds_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public, zoho
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO tds_runtime;
