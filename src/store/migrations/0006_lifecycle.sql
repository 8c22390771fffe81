-- 0006_lifecycle.sql — life-cycle stages: rules, current stage per contact, transitions.
CREATE TABLE lifecycle_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value TEXT NOT NULL            -- JSON of the rules (docs/lifecycle.md)
);

CREATE TABLE contact_stage (
    contact_id INTEGER PRIMARY KEY,
    stage TEXT NOT NULL,           -- added, in_group, retained, active, converted, repurchased, silent, churned
    since INTEGER NOT NULL         -- UTC ms of the pass that put the contact in it
);

CREATE TABLE stage_history (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    from_stage TEXT,               -- NULL: the contact had no stage
    to_stage TEXT,                 -- NULL: the contact no longer has one (merged away)
    at INTEGER NOT NULL
);
CREATE INDEX stage_history_contact ON stage_history (contact_id, at);
CREATE INDEX stage_history_at ON stage_history (at);
