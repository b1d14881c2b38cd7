-- Reports officials ask for, as views, and a read-only reporting role that cannot read
-- personal data.

CREATE VIEW report_pending_by_level_age AS
SELECT level,
       department,
       district,
       CASE
           WHEN now() - registered_at < interval '7 days'  THEN '0-7 days'
           WHEN now() - registered_at < interval '14 days' THEN '7-14 days'
           WHEN now() - registered_at < interval '30 days' THEN '14-30 days'
           ELSE 'over 30 days'
       END AS age_band,
       count(*) AS pending,
       count(*) FILTER (WHERE due_at < now()) AS overdue
FROM complaint_current
WHERE status NOT IN ('closed', 'special_closed')
GROUP BY 1, 2, 3, 4;

-- A complaint meets its SLA when it closed without ever missing a deadline.
CREATE VIEW report_sla_compliance AS
SELECT c.department,
       c.district,
       count(*) AS closed,
       count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM lapse l WHERE l.complaint_id = c.complaint_id)) AS closed_in_time,
       round(avg(CASE WHEN EXISTS (
           SELECT 1 FROM lapse l WHERE l.complaint_id = c.complaint_id) THEN 0 ELSE 1 END
       )::numeric, 4) AS compliance
FROM complaint_current c
WHERE c.status IN ('closed', 'special_closed')
GROUP BY 1, 2;

CREATE VIEW report_officer_scorecard AS
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
    SELECT officer_id, count(*) AS lapsed, sum(overdue_seconds) AS overdue_seconds
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
       coalesce(max(d.citizen_dissatisfied), 0) AS citizen_dissatisfied
FROM (SELECT officer_id FROM assigned UNION SELECT officer_id FROM lapse) o
LEFT JOIN assigned a ON a.officer_id = o.officer_id
LEFT JOIN resolved r ON r.officer_id = o.officer_id
LEFT JOIN lapsed l ON l.officer_id = o.officer_id
LEFT JOIN dissatisfied d ON d.officer_id = o.officer_id
GROUP BY o.officer_id;

-- Monthly grade per department and district: 60 % SLA compliance, 40 % closures that
-- were not reopened; graded A (>= 0.9), B (>= 0.75), C (>= 0.5), else D.
CREATE VIEW report_monthly_grade AS
WITH month AS (
    SELECT date_trunc('month', closed_at) AS month, department, district,
           count(*) AS closed,
           avg(CASE WHEN EXISTS (SELECT 1 FROM lapse l WHERE l.complaint_id = c.complaint_id)
                    THEN 0 ELSE 1 END) AS compliance,
           avg(CASE WHEN reopenings = 0 THEN 1 ELSE 0 END) AS not_reopened
    FROM complaint_current c
    WHERE closed_at IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT month, department, district, closed,
       round((0.6 * compliance + 0.4 * not_reopened)::numeric, 4) AS score,
       CASE WHEN 0.6 * compliance + 0.4 * not_reopened >= 0.9 THEN 'A'
            WHEN 0.6 * compliance + 0.4 * not_reopened >= 0.75 THEN 'B'
            WHEN 0.6 * compliance + 0.4 * not_reopened >= 0.5 THEN 'C'
            ELSE 'D' END AS grade
FROM month;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sankalp_reporting') THEN
        CREATE ROLE sankalp_reporting NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO sankalp_reporting', current_schema());
END
$$;
GRANT SELECT ON complaint_current, complaint_event, escalation, lapse,
    report_pending_by_level_age, report_sla_compliance, report_officer_scorecard,
    report_monthly_grade TO sankalp_reporting;
REVOKE ALL ON citizen_contact FROM sankalp_reporting;
