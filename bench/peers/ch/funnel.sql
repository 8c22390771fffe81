-- 4-step loose funnel add_wechat → join_group → view_item → order_paid with a
-- 7-day window over [FROM_MS, TO_MS): windowFunnel
-- (peer-sql/ch/b_funnel_prefilter.sql). 18.16's windowFunnel accepts only a
-- DateTime or UInt32 time ("Illegal type UInt64 of first argument of aggregate
-- function windowFunnel, must be DateTime or UInt32"), and ms since 1970 do
-- not fit 32 bits, so it runs on seconds (window 604800): exact for the demo
-- data, whose times are whole seconds (bench.mjs checks meta.json's
-- ts_not_whole_seconds = 0, else this answer is flagged). Rows pre-filtered to the step events,
-- so contacts without any step are absent (level 0 is not compared). Returns
-- the histogram (level, contacts).
SELECT level, count() AS contacts
FROM
(
    SELECT contact_id,
           windowFunnel({WINDOW_S})(toUInt32(intDiv(ts, 1000)), event = 'add_wechat', event = 'join_group', event = 'view_item', event = 'order_paid') AS level
    FROM bench.events
    WHERE event IN ('add_wechat', 'join_group', 'view_item', 'order_paid') AND ts >= {FROM_MS} AND ts < {TO_MS}
    GROUP BY contact_id
)
GROUP BY level
ORDER BY level
