-- order_paid count per Asia/Shanghai day by the event's channel. Returns
-- (day, channel, events); channel '' when the event has none (as ClickHouse).
SELECT (ts + 28800000) // 86400000 AS day, coalesce(channel, '') AS channel, count(*) AS events
FROM events
WHERE event = 'order_paid' AND ts >= {FROM_MS} AND ts < {TO_MS}
GROUP BY ALL
ORDER BY day, channel
