-- Where an event came from: a live webhook, or the replay of an earlier event's raw body.
ALTER TABLE events ADD COLUMN origin TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE events ADD COLUMN replay_of BIGINT REFERENCES events (id);
CREATE INDEX events_received_at ON events (received_at, id);
