-- Retries of events whose processing failed after they were recorded (outcome 'failed'):
-- how many attempts were made, and when the next one is due ('dead' events have none).
ALTER TABLE events ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN next_attempt_at TEXT;
CREATE INDEX events_due ON events (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
