-- Exact DAU (peer-sql/duck/e_dau.sql). Returns (day, dau).
SELECT (ts + 28800000) // 86400000 AS day, count(DISTINCT contact_id) AS dau
FROM events
WHERE ts >= {FROM_MS} AND ts < {TO_MS}
GROUP BY day
ORDER BY day
