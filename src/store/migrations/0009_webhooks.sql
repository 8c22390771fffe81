-- 0009_webhooks.sql — signed webhooks (src/channels/): the endpoints that
-- receive them and the outbox of deliveries the sender thread works through.

CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,               -- http:// or https:// only
    secret TEXT NOT NULL,            -- HMAC-SHA256 key; returned on create and rotate only
    topics TEXT NOT NULL,            -- JSON array of topic patterns ("*", "alert.*", "alert.fired")
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,          -- also the X-Siyu-Delivery header and the body's "id"
    endpoint_id INTEGER NOT NULL,    -- deleted with its endpoint
    topic TEXT NOT NULL,
    body TEXT NOT NULL,              -- the exact JSON bytes sent (and signed)
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,         -- UTC ms; NULL unless pending
    last_status_code INTEGER,        -- HTTP status of the latest attempt; NULL when none answered
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_endpoint_status ON webhook_deliveries (endpoint_id, status);
