-- Retention (see ch/retention_array.sql), join-based
-- (peer-sql/duck/c_retention_join.sql): distinct (contact, day) joined to
-- the cohorts. Returns (cohort, n, contacts); n = -1 is the cohort's size.
WITH cohorts AS (
        SELECT contact_id, min((ts + 28800000) // 86400000) AS cohort
        FROM events WHERE event = 'add_wechat'
        GROUP BY contact_id
        HAVING min((ts + 28800000) // 86400000) BETWEEN {C0} AND {C1}),
     act AS (SELECT DISTINCT contact_id, (ts + 28800000) // 86400000 AS d FROM events WHERE ts < {RET_END_MS})
SELECT cohort, -1 AS n, count(*) AS contacts FROM cohorts GROUP BY cohort
UNION ALL
SELECT cohort, d - cohort AS n, count(*) AS contacts
FROM act JOIN cohorts USING (contact_id)
WHERE d BETWEEN cohort AND cohort + {PERIODS} - 1
GROUP BY ALL
