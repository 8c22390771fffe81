-- 3-step loose funnel view_item → order_paid → share, as funnel.sql: for
-- every view_item the earliest order_paid at/after it, then the earliest
-- share at/after that (ASOF joins); a contact's level = max over its starts
-- of the deepest step reached by start + 7 days. Returns the histogram
-- (level, contacts) of contacts with a step 1.
WITH ev AS (SELECT contact_id, ts, event FROM events
            WHERE event IN ('view_item', 'order_paid', 'share') AND ts >= {FROM_MS} AND ts < {TO_MS}),
     s1 AS (SELECT contact_id, ts AS t1 FROM ev WHERE event = 'view_item'),
     s2 AS (SELECT contact_id, ts AS t2 FROM ev WHERE event = 'order_paid'),
     s3 AS (SELECT contact_id, ts AS t3 FROM ev WHERE event = 'share'),
     c2 AS (SELECT s1.contact_id, t1, t2 FROM s1 ASOF LEFT JOIN s2 ON s1.contact_id = s2.contact_id AND s2.t2 >= s1.t1),
     c3 AS (SELECT c2.contact_id, t1, t2, t3 FROM c2 ASOF LEFT JOIN s3 ON c2.contact_id = s3.contact_id AND s3.t3 >= c2.t2),
     per_contact AS (
        SELECT contact_id,
               max(CASE WHEN t2 <= t1 + {WINDOW_MS} AND t3 <= t1 + {WINDOW_MS} THEN 3
                        WHEN t2 <= t1 + {WINDOW_MS} THEN 2
                        ELSE 1 END) AS level
        FROM c3 GROUP BY contact_id)
SELECT level, count(*) AS contacts FROM per_contact GROUP BY level ORDER BY level
