-- Webhooks (src/channels/): when a delivery stopped being pending (delivered,
-- or failed after its last attempt), so that the sender can prune finished
-- deliveries after SIYU_WEBHOOK_KEEP_DAYS. A manual retry clears it.
ALTER TABLE webhook_deliveries ADD COLUMN finished_at INTEGER;
UPDATE webhook_deliveries SET finished_at = COALESCE(delivered_at, created_at)
    WHERE status != 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at)
    WHERE finished_at IS NOT NULL;
