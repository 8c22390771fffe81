-- ClickHouse 18.16 tables for bench/peers. ts is UInt64 UTC milliseconds
-- (18.16 has no DateTime64; siyu's windows are [as_of - D*24h, as_of) in ms,
-- so second-precision DateTime could disagree at the edges). event and
-- channel (the event's own properties.channel, '' when absent) stay Strings
-- as in peer-sql/ch/schema.sql. Only the events siyu counts as activity are
-- loaded (bench.mjs prep: no $identify/$alias/$group, no system events).
-- Days are Asia/Shanghai days computed in the queries as
-- intDiv(ts + 28800000, 86400000) (UTC+8, no DST), so the server stays UTC.
-- ORDER BY (contact_id, ts) as peers.md.
CREATE DATABASE IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS bench.events
(
    contact_id UInt32,
    ts         UInt64,
    event      String,
    channel    String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
ORDER BY (contact_id, ts)
SETTINGS index_granularity = 8192;
CREATE TABLE IF NOT EXISTS bench.contact_tags
(
    tag_id     UInt32,
    contact_id UInt32
)
ENGINE = MergeTree
ORDER BY (tag_id, contact_id)
SETTINGS index_granularity = 8192;
