-- 0005_segments.sql — saved segments (audiences), their versions and frozen snapshots.
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    version INTEGER NOT NULL,       -- current version (segment_versions)
    definition TEXT NOT NULL,       -- JSON of the current version
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER              -- soft delete: versions and snapshots stay readable by id
);

CREATE TABLE segment_versions (
    segment_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    definition TEXT NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (segment_id, version)
);

CREATE TABLE segment_snapshots (
    id INTEGER PRIMARY KEY,
    segment_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    as_of INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,           -- building (chunks being written), ready
    created_by INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX segment_snapshots_segment ON segment_snapshots(segment_id);

CREATE TABLE segment_snapshot_members (
    snapshot_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, contact_id)
) WITHOUT ROWID;
