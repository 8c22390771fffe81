-- Exact DAU: distinct active contacts per Asia/Shanghai day over
-- [FROM_MS, TO_MS) (peer-sql/ch/e_dau.sql). Returns (day, dau).
SELECT intDiv(ts + 28800000, 86400000) AS day, uniqExact(contact_id) AS dau
FROM bench.events
WHERE ts >= {FROM_MS} AND ts < {TO_MS}
GROUP BY day
ORDER BY day
