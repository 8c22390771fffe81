-- The bench funnel with a filter on its last step: order_paid only when the
-- event's channel is 'miniprogram' (siyu: steps[3].filters channel =
-- miniprogram). Otherwise as funnel.sql (seconds, rows pre-filtered to the
-- step events). Returns the histogram (level, contacts).
SELECT level, count() AS contacts
FROM
(
    SELECT contact_id,
           windowFunnel({WINDOW_S})(toUInt32(intDiv(ts, 1000)), event = 'add_wechat', event = 'join_group', event = 'view_item', event = 'order_paid' AND channel = 'miniprogram') AS level
    FROM bench.events
    WHERE event IN ('add_wechat', 'join_group', 'view_item', 'order_paid') AND ts >= {FROM_MS} AND ts < {TO_MS}
    GROUP BY contact_id
)
GROUP BY level
ORDER BY level
