-- Dashboard sessions signed out before they expired (POST /dashboard/logout). A session is
-- named by the SHA-256 digest of its random id, in lowercase hex: never the cookie, never the
-- id. A row is kept until the session would have expired anyway (the cookie's own expiry then
-- refuses it), and rows past their expiry are deleted when another session is signed out.
CREATE TABLE revoked_sessions (
    session_digest TEXT PRIMARY KEY NOT NULL CHECK (length(session_digest) = 64),
    expires_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);

CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (expires_at);
