-- (a) order_paid >= 2 in [AS_OF-30d, AS_OF) AND NOT view_item in [AS_OF-7d, AS_OF)
-- AND share at least once before AS_OF: one GROUP BY contact_id with countIf
-- (peer-sql/ch/d_segment_groupby.sql). Returns the member ids.
SELECT contact_id
FROM bench.events
WHERE event IN ('order_paid', 'view_item', 'share') AND ts < {AS_OF}
GROUP BY contact_id
HAVING countIf(event = 'order_paid' AND ts >= {FROM30}) >= 2
   AND countIf(event = 'view_item' AND ts >= {FROM7}) = 0
   AND countIf(event = 'share') >= 1
