-- The bench funnel broken down by the channel of its step-1 event (siyu:
-- breakdown by channel, the channel of the chain's add_wechat). Every
-- contact has exactly one add_wechat in the bench data (bench.mjs checks
-- it), so that event is the chain's start and anyIf picks its channel.
-- Returns (channel, level, contacts).
SELECT channel, level, count() AS contacts
FROM
(
    SELECT contact_id,
           windowFunnel({WINDOW_S})(toUInt32(intDiv(ts, 1000)), event = 'add_wechat', event = 'join_group', event = 'view_item', event = 'order_paid') AS level,
           anyIf(channel, event = 'add_wechat') AS channel
    FROM bench.events
    WHERE event IN ('add_wechat', 'join_group', 'view_item', 'order_paid') AND ts >= {FROM_MS} AND ts < {TO_MS}
    GROUP BY contact_id
)
WHERE level > 0
GROUP BY channel, level
ORDER BY channel, level
