-- (b) tag A AND NOT tag B with NOT IN over (tag_id, contact_id) pairs.
SELECT contact_id
FROM bench.contact_tags
WHERE tag_id = {TAG_A}
  AND contact_id NOT IN (SELECT contact_id FROM bench.contact_tags WHERE tag_id = {TAG_B})
