-- 3-step loose funnel view_item → order_paid → share, 7-day window, over
-- [FROM_MS, TO_MS): windowFunnel on seconds as in funnel.sql. Most contacts
-- view items many times, so most have many chains (siyu's funnel_levels,
-- not the one-start path the bench funnel takes). Returns the histogram
-- (level, contacts).
SELECT level, count() AS contacts
FROM
(
    SELECT contact_id,
           windowFunnel({WINDOW_S})(toUInt32(intDiv(ts, 1000)), event = 'view_item', event = 'order_paid', event = 'share') AS level
    FROM bench.events
    WHERE event IN ('view_item', 'order_paid', 'share') AND ts >= {FROM_MS} AND ts < {TO_MS}
    GROUP BY contact_id
)
GROUP BY level
ORDER BY level
