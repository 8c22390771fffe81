-- Retention, PERIODS x cohort days C0..C1 (Asia/Shanghai day numbers,
-- intDiv(ts + 28800000, 86400000)): cohort = day of the contact's first
-- add_wechat; cell (cohort, N) = cohort contacts with any activity on day
-- cohort + N (exact mode), N = 0 .. PERIODS-1. One pass without a join
-- (peer-sql/ch/c_retention_array.sql): per contact the first add_wechat day
-- and the set of active days. Returns (cohort, size, [returned per N]).
SELECT cohort, count() AS size, sumForEach(r) AS returned
FROM
(
    SELECT contact_id,
           minIf(intDiv(ts + 28800000, 86400000), event = 'add_wechat') AS cohort,
           groupUniqArray(intDiv(ts + 28800000, 86400000)) AS days,
           arrayMap(n -> toUInt8(has(days, cohort + n)), range({PERIODS})) AS r
    FROM bench.events
    WHERE ts < {RET_END_MS}
    GROUP BY contact_id
    HAVING countIf(event = 'add_wechat') > 0 AND cohort >= {C0} AND cohort <= {C1}
)
GROUP BY cohort
ORDER BY cohort
