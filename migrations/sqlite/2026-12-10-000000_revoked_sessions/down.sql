DROP INDEX revoked_sessions_expires_at;
DROP TABLE revoked_sessions;
