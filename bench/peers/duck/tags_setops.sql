-- (b) tag A EXCEPT tag B.
(SELECT contact_id FROM contact_tags WHERE tag_id = {TAG_A})
EXCEPT
(SELECT contact_id FROM contact_tags WHERE tag_id = {TAG_B})
