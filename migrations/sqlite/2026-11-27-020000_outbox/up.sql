-- The payment status after the notification that caused each credit (the status of its event;
-- every credit is caused by an applied notification, whose status the payment takes).
ALTER TABLE credits ADD COLUMN status TEXT NOT NULL DEFAULT 'FILLED'
    CHECK (status IN ('OPEN', 'PARTIALLY_FILLED', 'CANCELLED', 'FILLED', 'OVER_FILLED'));
UPDATE credits SET status = (SELECT events.status FROM events WHERE events.id = credits.event_id)
    WHERE EXISTS (SELECT 1 FROM events WHERE events.id = credits.event_id
                  AND events.status IN ('PARTIALLY_FILLED', 'CANCELLED', 'FILLED', 'OVER_FILLED'));

-- The transactional outbox of credits to forward to the merchant's application
-- (CREDIT_FORWARD_URL): written in the same transaction as its credit, one per credit.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    credit_id BIGINT NOT NULL UNIQUE REFERENCES credits (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- When a pending entry is tried next; NULL once delivered or dead.
    next_attempt_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX outbox_state_id ON outbox (state, id);
