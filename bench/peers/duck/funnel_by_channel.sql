-- The bench funnel (funnel.sql) broken down by the channel of its step-1
-- event: every contact has exactly one add_wechat in the bench data
-- (bench.mjs checks it), the chain's start. Returns (channel, level,
-- contacts).
WITH ev AS (SELECT contact_id, ts, event, channel FROM events
            WHERE event IN ('add_wechat', 'join_group', 'view_item', 'order_paid') AND ts >= {FROM_MS} AND ts < {TO_MS}),
     s1 AS (SELECT contact_id, ts AS t1, channel AS ch FROM ev WHERE event = 'add_wechat'),
     s2 AS (SELECT contact_id, ts AS t2 FROM ev WHERE event = 'join_group'),
     s3 AS (SELECT contact_id, ts AS t3 FROM ev WHERE event = 'view_item'),
     s4 AS (SELECT contact_id, ts AS t4 FROM ev WHERE event = 'order_paid'),
     c2 AS (SELECT s1.contact_id, ch, t1, t2 FROM s1 ASOF LEFT JOIN s2 ON s1.contact_id = s2.contact_id AND s2.t2 >= s1.t1),
     c3 AS (SELECT c2.contact_id, ch, t1, t2, t3 FROM c2 ASOF LEFT JOIN s3 ON c2.contact_id = s3.contact_id AND s3.t3 >= c2.t2),
     c4 AS (SELECT c3.contact_id, ch, t1, t2, t3, t4 FROM c3 ASOF LEFT JOIN s4 ON c3.contact_id = s4.contact_id AND s4.t4 >= c3.t3),
     per_contact AS (
        SELECT contact_id, ch,
               max(CASE WHEN t2 <= t1 + {WINDOW_MS} AND t3 <= t1 + {WINDOW_MS} AND t4 <= t1 + {WINDOW_MS} THEN 4
                        WHEN t2 <= t1 + {WINDOW_MS} AND t3 <= t1 + {WINDOW_MS} THEN 3
                        WHEN t2 <= t1 + {WINDOW_MS} THEN 2
                        ELSE 1 END) AS level
        FROM c4 GROUP BY contact_id, ch)
SELECT ch AS channel, level, count(*) AS contacts FROM per_contact GROUP BY ch, level ORDER BY ch, level
