-- 0008_model_tags.sql — model tags (owned by src/tags/, written by
-- src/models/): their members come from the models (RFM groups, purchase
-- frequency tiers, predicted interests), source 'model'. contact_tags is
-- rebuilt to widen its source CHECK (SQLite cannot alter a CHECK in place).

CREATE TABLE contact_tags_new (
    contact_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    by_staff INTEGER,
    source TEXT NOT NULL CHECK (source IN ('staff', 'import', 'api', 'rule', 'form', 'model')),
    PRIMARY KEY (contact_id, tag_id)
);
INSERT INTO contact_tags_new SELECT contact_id, tag_id, at, by_staff, source FROM contact_tags;
DROP TABLE contact_tags;
ALTER TABLE contact_tags_new RENAME TO contact_tags;
CREATE INDEX contact_tags_tag ON contact_tags(tag_id, contact_id);
