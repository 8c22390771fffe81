-- 0002_contacts.sql — the lead library (owned by src/contacts/).
--
-- Contacts have dense integer ids (rowid aliases) so sets of people can be
-- bitmaps. A merged contact is never deleted: merged_into points at the
-- winner. Rows written by a CSV import carry pending_import until the import
-- is published; while that import's published_at is NULL they are invisible
-- to every query (see SY_CONTACT_VISIBLE in contacts_int.h).

CREATE TABLE contact_channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('store_code', 'ads', 'partner', 'referral', 'other')),
    code TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE contact_imports (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    by_staff INTEGER,
    pid INTEGER,                    -- process running it (crash recovery skips live ones)
    status TEXT NOT NULL,           -- running, publishing, completed, failed
    strict INTEGER NOT NULL DEFAULT 0,
    dedupe TEXT NOT NULL DEFAULT 'update',
    encoding TEXT,
    mapping TEXT,                   -- JSON: header -> field
    rows_total INTEGER NOT NULL DEFAULT 0,
    rows_done INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    published_at INTEGER,           -- the commit point: rows become visible
    finished_at INTEGER,
    error TEXT
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    name TEXT,
    phone TEXT,                     -- E.164
    phone_tail TEXT,                -- last 4 digits, for search
    email TEXT,
    gender TEXT,                    -- male, female, unknown
    birthday TEXT,                  -- YYYY-MM-DD
    city TEXT,
    company TEXT,
    source_id INTEGER REFERENCES contact_channels(id) ON DELETE SET NULL,
    owner_id INTEGER,               -- staff id; NULL = in the lead pool
    department_id INTEGER,          -- owner's department when assigned
    store_id INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    attrs TEXT,                     -- JSON object of custom attribute values
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    owned_at INTEGER,               -- when the current owner got it
    pool_claimed_at INTEGER,        -- set when claimed from the pool (claim limit)
    last_follow_up_at INTEGER,
    next_follow_up_at INTEGER,
    returned_at INTEGER,
    return_reason TEXT,
    merged_into INTEGER,            -- tombstone: the winner of a merge
    pending_import INTEGER          -- import id while unpublished / being cleaned
);
CREATE INDEX contacts_owner ON contacts(owner_id);
CREATE INDEX contacts_store ON contacts(store_id);
CREATE INDEX contacts_dept ON contacts(department_id);
CREATE INDEX contacts_tail ON contacts(phone_tail);
CREATE INDEX contacts_created ON contacts(created_at);
CREATE INDEX contacts_merged ON contacts(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX contacts_pending ON contacts(pending_import) WHERE pending_import IS NOT NULL;

CREATE TABLE contact_identities (
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (type, value)
) WITHOUT ROWID;
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE TABLE contact_followers (
    contact_id INTEGER NOT NULL,
    staff_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (contact_id, staff_id)
) WITHOUT ROWID;
CREATE INDEX contact_followers_staff ON contact_followers(staff_id);

CREATE TABLE contact_consent (
    contact_id INTEGER NOT NULL,
    channel TEXT NOT NULL,          -- wecom, sms, email, phone
    status TEXT NOT NULL,           -- granted, withdrawn
    at INTEGER NOT NULL,
    source TEXT NOT NULL,           -- import, form, sdk, staff
    purpose TEXT,
    PRIMARY KEY (contact_id, channel)
) WITHOUT ROWID;

-- Timeline: follow-ups, field changes, merges, pool moves, handovers.
CREATE TABLE contact_timeline (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    by_staff INTEGER,
    data TEXT                       -- JSON object
);
CREATE INDEX contact_timeline_contact ON contact_timeline(contact_id, id);

CREATE TABLE contact_merges (
    id INTEGER PRIMARY KEY,
    winner_id INTEGER NOT NULL,
    loser_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    by_staff INTEGER,
    data TEXT NOT NULL,             -- JSON: moved identities, overwritten values …
    undone_at INTEGER,
    undone_by INTEGER
);
CREATE INDEX contact_merges_loser ON contact_merges(loser_id);

CREATE TABLE contact_attr_defs (
    key TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'enum', 'bool')),
    options TEXT,                   -- JSON array for enum
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE contact_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO contact_settings(key, value) VALUES
    ('pool.recycle_enabled', '0'),
    ('pool.recycle_days', '30'),
    ('pool.claim_limit', '50');

-- Updates of existing contacts found by an import (applied after publish).
CREATE TABLE contact_import_updates (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX contact_import_updates_import ON contact_import_updates(import_id, id);

CREATE TABLE contact_import_errors (
    import_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    col TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX contact_import_errors_import ON contact_import_errors(import_id, line);
