-- 0010_dashboards.sql — dashboards of saved analytics questions (cards with
-- thresholds), alert rules on them and the alerts they fired
-- (src/analytics/dashboards*.c, alerts.c; docs/dashboards.md).

CREATE TABLE dashboards (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    owner_id INTEGER,                -- staff id; NULL = the workspace (the seeded 概览)
    shared INTEGER NOT NULL DEFAULT 0, -- 1: everyone with contacts.read sees it
    is_default INTEGER NOT NULL DEFAULT 0, -- the console's 概览 page shows this one
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE dashboard_cards (
    id INTEGER PRIMARY KEY,
    dashboard_id INTEGER NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    question TEXT NOT NULL,          -- JSON: an analytics question with "kind"
    chart TEXT NOT NULL CHECK (chart IN ('line', 'bar', 'number', 'table', 'funnel', 'heatmap')),
    thresholds TEXT,                 -- JSON {"direction","green","red"} or NULL
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX dashboard_cards_dashboard ON dashboard_cards (dashboard_id, position, id);

-- AUTOINCREMENT: a rule's id is never reused, so the events of a deleted
-- rule (kept as history, also the cooldown record) never pass for a new one's.
CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    card_id INTEGER REFERENCES dashboard_cards(id), -- watched card, or NULL with question
    question TEXT,                   -- JSON question when card_id is NULL
    condition_type TEXT NOT NULL,    -- above, below, drop_pct_vs_trailing_7, rise_pct_vs_trailing_7
    condition_value REAL NOT NULL,
    webhook_id INTEGER,              -- one endpoint (channels' webhook_endpoints), NULL = publish
    enabled INTEGER NOT NULL DEFAULT 1,
    cooldown TEXT NOT NULL DEFAULT 'period' CHECK (cooldown IN ('period', 'none')),
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_evaluated_at INTEGER,
    last_fired_at INTEGER,
    CHECK ((card_id IS NULL) != (question IS NULL))
);
CREATE INDEX alert_rules_card ON alert_rules (card_id);

-- Kept when their rule is deleted (history); name copied for that reason.
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    fired_at INTEGER NOT NULL,
    period TEXT NOT NULL,            -- the headline's period, e.g. "2026-11-21"
    value REAL NOT NULL,
    trailing_mean REAL,
    threshold REAL NOT NULL,
    unit TEXT NOT NULL,
    condition TEXT NOT NULL,         -- JSON {"type","value"} as it was when fired
    message TEXT NOT NULL,
    delivery_id INTEGER,             -- webhook delivery (a rule with webhook_id)
    queued INTEGER,                  -- deliveries queued by a publish to "alert.fired"
    delivery_error TEXT              -- why it could not be queued, NULL when it was
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, period);

-- The default dashboard: the seeds' headline metrics for the 概览 page.
INSERT INTO dashboards (id, name, description, owner_id, shared, is_default, created_at, updated_at)
VALUES (1, '概览', '核心指标：日活、新增、GMV、首单转化、7 日留存、复购率', NULL, 1, 1,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
INSERT INTO dashboard_cards (dashboard_id, title, question, chart, thresholds, position, created_at, updated_at)
SELECT 1, column1, column2, column3, column4, column5, d.created_at, d.created_at
FROM (VALUES
    ('日活 DAU', '{"kind":"metric","metric":"dau","interval":"day"}', 'line', NULL, 1),
    ('新增客户', '{"kind":"metric","metric":"new_contacts","interval":"day"}', 'bar', NULL, 2),
    ('GMV', '{"kind":"metric","metric":"gmv","interval":"day"}', 'line', NULL, 3),
    ('首单转化率', '{"kind":"metric","metric":"first_order_conversion","interval":"week"}', 'line', NULL, 4),
    ('7 日留存', '{"kind":"metric","metric":"retention_d7","interval":"week"}', 'line',
     '{"direction":"higher_is_better","green":0.28,"red":0.2}', 5),
    ('复购率', '{"kind":"metric","metric":"repurchase_rate","interval":"month"}', 'bar',
     '{"direction":"higher_is_better","green":0.65,"red":0.5}', 6)
) JOIN dashboards d ON d.id = 1;
