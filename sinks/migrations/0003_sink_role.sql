-- The sink's role: exactly what `sankalp sink` needs, and no DDL. The tables belong to
-- whoever runs `sankalp db migrate`; the sink logs in as a role granted this one
-- (GRANT sankalp_sink TO sink_user), so a compromised or buggy sink can neither drop
-- nor alter a table, nor read back the citizens' phone numbers and names it stores.
-- A later migration that adds a table the sink writes must grant it here too.

DO $$
BEGIN
    -- Roles are per cluster, migrations per schema: create it once, grant in every schema.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sankalp_sink') THEN
        CREATE ROLE sankalp_sink NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO sankalp_sink', current_schema());
END
$$;

-- The sink refuses to start on a database that is behind: it reads the ledger.
GRANT SELECT ON schema_migration TO sankalp_sink;
-- Upserts compare versions (complaint_current) and keep the highest offset (sink_offset);
-- the offsets are read back on partition assignment, complaint_current and lapse by the
-- gauges.
GRANT SELECT, INSERT, UPDATE ON complaint_current, sink_offset TO sankalp_sink;
GRANT SELECT, INSERT ON lapse TO sankalp_sink;
-- Append-only history: inserted once per event id (ON CONFLICT (event_id) DO NOTHING has
-- to see the key), never read back by the sink.
GRANT INSERT, SELECT (event_id) ON complaint_event, escalation TO sankalp_sink;
-- Personal data: written (a later contact record replaces the earlier one), never read.
-- The sink matches rows by complaint_id, the only column it may see (postgres_sink.py).
GRANT INSERT (complaint_id, citizen_ref, citizen_phone, citizen_name),
      UPDATE (citizen_ref, citizen_phone, citizen_name),
      SELECT (complaint_id)
    ON citizen_contact TO sankalp_sink;
