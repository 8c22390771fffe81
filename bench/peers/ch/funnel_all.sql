-- The same funnel without the pre-filter (peer-sql/ch/b_funnel.sql): every
-- row of every contact goes through windowFunnel.
SELECT level, count() AS contacts
FROM
(
    SELECT contact_id,
           windowFunnel({WINDOW_S})(toUInt32(intDiv(ts, 1000)), event = 'add_wechat', event = 'join_group', event = 'view_item', event = 'order_paid') AS level
    FROM bench.events
    WHERE ts >= {FROM_MS} AND ts < {TO_MS}
    GROUP BY contact_id
)
GROUP BY level
ORDER BY level
