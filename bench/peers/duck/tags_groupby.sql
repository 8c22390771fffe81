-- (b') tag A AND NOT tag B as one GROUP BY with FILTER.
SELECT contact_id FROM contact_tags
WHERE tag_id IN ({TAG_A}, {TAG_B})
GROUP BY contact_id
HAVING count(*) FILTER (WHERE tag_id = {TAG_A}) > 0 AND count(*) FILTER (WHERE tag_id = {TAG_B}) = 0
