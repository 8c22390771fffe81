-- (a') (A INTERSECT B) EXCEPT C (peer-sql/duck/d_segment_setops.sql).
(SELECT contact_id FROM events WHERE event = 'order_paid' AND ts >= {FROM30} AND ts < {AS_OF}
 GROUP BY contact_id HAVING count(*) >= 2)
INTERSECT
(SELECT contact_id FROM events WHERE event = 'share' AND ts < {AS_OF})
EXCEPT
(SELECT contact_id FROM events WHERE event = 'view_item' AND ts >= {FROM7} AND ts < {AS_OF})
