-- Retention with the cohort join pushed into the activity scan, so only
-- cohort contacts' rows are de-duplicated (peer-sql/duck/c_retention_semijoin.sql).
-- Returns (cohort, n, contacts); n = -1 is the cohort's size.
WITH cohorts AS (
        SELECT contact_id, min((ts + 28800000) // 86400000) AS cohort
        FROM events WHERE event = 'add_wechat'
        GROUP BY contact_id
        HAVING min((ts + 28800000) // 86400000) BETWEEN {C0} AND {C1})
SELECT cohort, -1 AS n, count(*) AS contacts FROM cohorts GROUP BY cohort
UNION ALL
SELECT cohort, n, count(*) AS contacts FROM (
    SELECT DISTINCT c.cohort, e.contact_id, (e.ts + 28800000) // 86400000 - c.cohort AS n
    FROM events e JOIN cohorts c USING (contact_id)
    WHERE e.ts < {RET_END_MS} AND (e.ts + 28800000) // 86400000 BETWEEN c.cohort AND c.cohort + {PERIODS} - 1)
GROUP BY ALL
