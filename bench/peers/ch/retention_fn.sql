-- The same retention with retention() over the events joined to their
-- contact's cohort (peer-sql/ch/c_retention_fn.sql). {RETENTION_CONDS} is
-- expanded by bench.mjs to PERIODS conditions
-- intDiv(ts + 28800000, 86400000) = cohort + N. Returns (cohort, size,
-- [returned per N]).
SELECT cohort_day AS cohort, count() AS size, sumForEach(r) AS returned
FROM
(
    SELECT contact_id, any(cohort) AS cohort_day,  -- not `cohort`: CH aliases are query-global (peers.md 4)
           retention({RETENTION_CONDS}) AS r
    FROM bench.events
    ANY INNER JOIN
    (
        SELECT contact_id, min(intDiv(ts + 28800000, 86400000)) AS cohort
        FROM bench.events
        WHERE event = 'add_wechat'
        GROUP BY contact_id
        HAVING cohort >= {C0} AND cohort <= {C1}
    ) USING contact_id
    WHERE ts < {RET_END_MS}
    GROUP BY contact_id
)
GROUP BY cohort_day
ORDER BY cohort_day
