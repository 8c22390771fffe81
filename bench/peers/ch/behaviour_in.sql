-- (a') the same segment as set operations with IN / NOT IN, the only user-set
-- algebra 18.16 has without bitmaps (peer-sql/ch/d_segment_in.sql).
SELECT contact_id
FROM
(
    SELECT contact_id
    FROM bench.events
    WHERE event = 'order_paid' AND ts >= {FROM30} AND ts < {AS_OF}
    GROUP BY contact_id
    HAVING count() >= 2
)
WHERE contact_id IN (SELECT contact_id FROM bench.events WHERE event = 'share' AND ts < {AS_OF})
  AND contact_id NOT IN (SELECT contact_id FROM bench.events WHERE event = 'view_item' AND ts >= {FROM7} AND ts < {AS_OF})
