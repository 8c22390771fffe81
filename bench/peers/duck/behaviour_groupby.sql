-- (a) one GROUP BY with count(*) FILTER (peer-sql/duck/d_segment_groupby.sql).
SELECT contact_id FROM events
WHERE event IN ('order_paid', 'view_item', 'share') AND ts < {AS_OF}
GROUP BY contact_id
HAVING count(*) FILTER (WHERE event = 'order_paid' AND ts >= {FROM30}) >= 2
   AND count(*) FILTER (WHERE event = 'view_item' AND ts >= {FROM7}) = 0
   AND count(*) FILTER (WHERE event = 'share') >= 1
