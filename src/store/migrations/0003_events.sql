-- 0003_events.sql — the event log and catalog (owned by src/events/).
--
-- Events are an append-only log: one row per group commit holding the
-- commit's events as one zstd-compressed block with a CRC-32 (see
-- src/events/eventlog.c). Per-event indexes (messageIds, per-contact
-- positions) live in RAM and are rebuilt from the blocks at start.

CREATE TABLE event_blocks (
    id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL,              -- events in the block
    first_ts INTEGER NOT NULL,       -- smallest event time in the block
    last_ts INTEGER NOT NULL,
    committed_at INTEGER NOT NULL,
    crc INTEGER NOT NULL,            -- CRC-32 of the uncompressed block
    data BLOB NOT NULL
);

-- Event catalog (数据规范): one row per event name; ids are the engine's type ids.
CREATE TABLE event_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    first_seen INTEGER,
    last_seen INTEGER,
    count INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    schema TEXT                      -- declared schema JSON or NULL
);

-- Per event and property: inferred type, an example, how many events had it.
CREATE TABLE event_properties (
    type_id INTEGER NOT NULL REFERENCES event_types(id),
    name TEXT NOT NULL,
    value_type TEXT NOT NULL,        -- string, number, boolean, object, array, mixed
    example TEXT,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (type_id, name)
) WITHOUT ROWID;

-- Dictionary of the engine's dimension values (channel, store, category, sku).
CREATE TABLE event_dims (
    dim INTEGER NOT NULL,
    value TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (dim, value)
) WITHOUT ROWID;

-- Traits sent with identify that are neither contact columns nor declared
-- custom attributes: kept per contact, latest value wins.
CREATE TABLE contact_traits (
    contact_id INTEGER PRIMARY KEY,
    traits TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Two identified contacts an identify/alias would have joined: never merged
-- automatically, kept for an admin to review.
CREATE TABLE identity_conflicts (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    contact_a INTEGER NOT NULL,
    contact_b INTEGER NOT NULL,
    identity_type TEXT NOT NULL,
    identity_value TEXT NOT NULL,
    message_id TEXT,
    status TEXT NOT NULL DEFAULT 'open'  -- open, merged, dismissed
);

-- Workspace settings of the events module (orders and refunds).
CREATE TABLE events_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO events_settings(key, value) VALUES ('orders',
 '{"orders":[{"event":"order_paid","amount":["amount"]},{"event":"Order Completed","amount":["revenue","total"]}],"refunds":[{"event":"order_refunded","amount":["amount"]},{"event":"Order Refunded","amount":["revenue","total"]}]}');
