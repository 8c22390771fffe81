-- order_paid count per Asia/Shanghai day by the event's channel over
-- [FROM_MS, TO_MS). Returns (day, channel, events).
SELECT intDiv(ts + 28800000, 86400000) AS day, channel, count() AS events
FROM bench.events
WHERE event = 'order_paid' AND ts >= {FROM_MS} AND ts < {TO_MS}
GROUP BY day, channel
ORDER BY day, channel
