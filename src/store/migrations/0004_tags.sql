-- 0004_tags.sql — the tag taxonomy and contact tags (owned by src/tags/).
--
-- Categories are two levels deep: a category (parent_id NULL) and its
-- subcategories (parent_id = a top-level category). Every category states the
-- business scenario it serves. Tags hang off a category or a subcategory.
-- contact_tags is the source of truth for membership; the RAM sets of
-- src/tags/ are rebuilt from it at start.

CREATE TABLE tag_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scenario TEXT NOT NULL,              -- the business scenario it serves
    parent_id INTEGER REFERENCES tag_categories(id),
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- sibling names are unique (top level: parent_id NULL → 0)
CREATE UNIQUE INDEX tag_categories_name ON tag_categories(coalesce(parent_id, 0), name);

-- AUTOINCREMENT: a deleted tag's id is never reused, so membership rows
-- still being swept after a delete can never be adopted by a new tag.
CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id INTEGER NOT NULL REFERENCES tag_categories(id),
    name TEXT NOT NULL,
    description TEXT,
    kind TEXT NOT NULL DEFAULT 'manual'
        CHECK (kind IN ('manual', 'rule', 'form', 'model')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (category_id, name)
);

-- One row per contact carrying a tag. No foreign keys: contacts belong to
-- another module, and rows of a deleted tag are swept in chunks.
CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    by_staff INTEGER,                    -- NULL for the system / write keys
    source TEXT NOT NULL CHECK (source IN ('staff', 'import', 'api')),
    PRIMARY KEY (contact_id, tag_id)
);
CREATE INDEX contact_tags_tag ON contact_tags(tag_id, contact_id);
