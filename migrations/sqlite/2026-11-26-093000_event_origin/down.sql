DROP INDEX events_received_at;
ALTER TABLE events DROP COLUMN replay_of;
ALTER TABLE events DROP COLUMN origin;
