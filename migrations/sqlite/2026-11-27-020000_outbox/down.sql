DROP TABLE outbox;
ALTER TABLE credits DROP COLUMN status;
