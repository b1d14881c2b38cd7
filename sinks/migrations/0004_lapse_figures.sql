-- The lapse ledger from the core's own records (complaint.lapse_recorded): one row per
-- lapse, keyed by its lapse_id, with the figures an official asks for (the time limit,
-- the working days the officer actually held the complaint). A complaint overdue at the
-- state level is recorded again with every reminder: the sink keeps the row of the record
-- furthest past due (sinks/postgres_sink.py), so its overdue figures grow while it waits.

ALTER TABLE lapse
    ADD COLUMN lapse_id           text,
    ADD COLUMN assigned_at        timestamptz,
    ADD COLUMN limit_working_days integer,
    ADD COLUMN held_working_days  integer;

-- Rows written before this migration came from the escalation and reminder events, one
-- per lapse already: each keeps its event id as its lapse id. Their figures stay unknown
-- (NULL), never guessed.
UPDATE lapse SET lapse_id = event_id WHERE lapse_id IS NULL;
ALTER TABLE lapse ALTER COLUMN lapse_id SET NOT NULL;
ALTER TABLE lapse DROP CONSTRAINT lapse_pkey;
ALTER TABLE lapse ADD PRIMARY KEY (lapse_id);
COMMENT ON COLUMN lapse.event_id IS
    'the complaint.lapse_recorded event whose figures the row holds (the latest reminder)';
COMMENT ON COLUMN lapse.overdue_seconds IS
    'how long past due_at at that record: 0 for a missed deadline, growing at the state level';

-- The upsert: a later reminder replaces these figures (ON CONFLICT DO UPDATE, which also
-- reads the row: SELECT on lapse is granted in 0003).
GRANT UPDATE (event_id, overdue_seconds, held_working_days) ON lapse TO sankalp_sink;

-- The scorecard as before (lapsed: one per lapse; overdue_seconds now grows with a
-- state-level lapse's reminders), plus the working days behind the lapses: how many the
-- officer held the complaints they let lapse, against the limits they had. Columns can
-- only be added at the end of a view; its grant to sankalp_reporting stays.
CREATE OR REPLACE VIEW report_officer_scorecard AS
WITH assigned AS (
    SELECT payload ->> 'officer_id' AS officer_id, count(*) AS assigned
    FROM complaint_event WHERE event_type = 'complaint.assigned' GROUP BY 1
    UNION ALL
    SELECT to_officer, count(*) FROM escalation GROUP BY 1
), resolved AS (
    SELECT c.officer_id,
           count(*) FILTER (WHERE c.close_reason = 'citizen_satisfied') AS resolved,
           count(*) FILTER (WHERE c.close_reason = 'citizen_satisfied'
                            AND c.closed_at <= c.due_at) AS resolved_in_time
    FROM complaint_current c GROUP BY 1
), lapsed AS (
    SELECT officer_id, count(*) AS lapsed, sum(overdue_seconds) AS overdue_seconds,
           sum(held_working_days) AS held_working_days,
           sum(limit_working_days) AS limit_working_days
    FROM lapse GROUP BY 1
), dissatisfied AS (
    SELECT from_officer AS officer_id, count(*) AS citizen_dissatisfied
    FROM escalation WHERE cause = 'citizen_not_satisfied' GROUP BY 1
)
SELECT o.officer_id,
       coalesce(sum(a.assigned), 0)          AS assigned,
       coalesce(max(r.resolved), 0)          AS resolved,
       coalesce(max(r.resolved_in_time), 0)  AS resolved_in_time,
       coalesce(max(l.lapsed), 0)            AS lapsed,
       coalesce(max(l.overdue_seconds), 0)   AS overdue_seconds,
       coalesce(max(d.citizen_dissatisfied), 0) AS citizen_dissatisfied,
       coalesce(max(l.held_working_days), 0)  AS lapsed_held_working_days,
       coalesce(max(l.limit_working_days), 0) AS lapsed_limit_working_days
FROM (SELECT officer_id FROM assigned UNION SELECT officer_id FROM lapse) o
LEFT JOIN assigned a ON a.officer_id = o.officer_id
LEFT JOIN resolved r ON r.officer_id = o.officer_id
LEFT JOIN lapsed l ON l.officer_id = o.officer_id
LEFT JOIN dissatisfied d ON d.officer_id = o.officer_id
GROUP BY o.officer_id;
