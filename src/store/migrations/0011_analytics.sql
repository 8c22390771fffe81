-- Analytics (issue 6): what each acquisition channel cost, per period.
-- A cost covers the local days [from_day, to_day] and is spread evenly over
-- them when a question asks for part of that range (docs/metrics.md, cac).
CREATE TABLE analytics_channel_costs (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,    -- contact_channels.id (contacts module)
    from_day TEXT NOT NULL,         -- YYYY-MM-DD, workspace timezone
    to_day TEXT NOT NULL,
    cost_fen INTEGER NOT NULL CHECK (cost_fen >= 0),
    note TEXT,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX analytics_channel_costs_days ON analytics_channel_costs(from_day, to_day);
