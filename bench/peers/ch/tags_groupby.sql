-- (b') tag A AND NOT tag B as one GROUP BY contact_id with countIf.
SELECT contact_id
FROM bench.contact_tags
WHERE tag_id IN ({TAG_A}, {TAG_B})
GROUP BY contact_id
HAVING countIf(tag_id = {TAG_A}) > 0 AND countIf(tag_id = {TAG_B}) = 0
