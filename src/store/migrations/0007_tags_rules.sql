-- 0007_tags_rules.sql — rule tags and form tags (owned by src/tags/).
--
-- A rule tag carries its definition (the segments language, JSON text); its
-- members are written by the real-time re-evaluation (source 'rule'). Forms
-- are questionnaires whose options map to tags; a submission applies them
-- (source 'form'). contact_tags is rebuilt to widen its source CHECK (SQLite
-- cannot alter a CHECK in place).

ALTER TABLE tags ADD COLUMN definition TEXT; -- rule tags only

CREATE TABLE contact_tags_new (
    contact_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    by_staff INTEGER,
    source TEXT NOT NULL CHECK (source IN ('staff', 'import', 'api', 'rule', 'form')),
    PRIMARY KEY (contact_id, tag_id)
);
INSERT INTO contact_tags_new SELECT contact_id, tag_id, at, by_staff, source FROM contact_tags;
DROP TABLE contact_tags;
ALTER TABLE contact_tags_new RENAME TO contact_tags;
CREATE INDEX contact_tags_tag ON contact_tags(tag_id, contact_id);

-- questions: JSON array [{"id","title","multiple","options":[{"id","label","tag_ids":[…]}]}]
CREATE TABLE forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    questions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE form_submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    form_id INTEGER NOT NULL REFERENCES forms(id),
    contact_id INTEGER NOT NULL,
    answers TEXT NOT NULL,
    tag_ids TEXT NOT NULL,                -- JSON array of the tags applied
    at INTEGER NOT NULL,
    by_staff INTEGER,
    source TEXT NOT NULL                  -- 'staff', 'api' or 'event'
);
CREATE INDEX form_submissions_form ON form_submissions(form_id, id);
