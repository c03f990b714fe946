-- The first schema of payram-merchant on SQLite.
--
-- Every amount is TEXT holding the canonical decimal string exactly as received ("82.00" stays
-- "82.00"); never REAL. Every timestamp is TEXT in RFC 3339 UTC with six fractional digits
-- ("2026-01-02T03:04:05.000006Z"), so that text order is time order.
-- Integer columns other than the row ids are BIGINT: the same INTEGER affinity and storage in
-- SQLite, and the type they will have on PostgreSQL.

-- One row per PayRam payment (reference_id), at its most advanced known state.
CREATE TABLE payments (
    reference_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('OPEN', 'PARTIALLY_FILLED', 'CANCELLED', 'FILLED', 'OVER_FILLED')),
    customer_id TEXT,
    invoice_id TEXT,
    amount TEXT,
    currency TEXT,
    filled_amount TEXT,
    filled_amount_in_usd TEXT,
    credited_usd TEXT NOT NULL,
    late_payment BOOLEAN NOT NULL,
    credit_count BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every authenticated delivery, malformed ones included, with the body byte for byte.
-- Never a key or a header value: only how the delivery authenticated and which key matched.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    received_at TEXT NOT NULL,
    method TEXT NOT NULL,
    auth_method TEXT NOT NULL CHECK (auth_method IN ('signature', 'api_key')),
    key_index BIGINT NOT NULL,
    raw_body BLOB NOT NULL,
    reference_id TEXT,
    payout_id TEXT,
    status TEXT,
    outcome TEXT NOT NULL,
    credited_usd TEXT NOT NULL DEFAULT '0',
    detail TEXT
);

CREATE INDEX events_reference_id_id ON events (reference_id, id);
CREATE INDEX events_outcome_id ON events (outcome, id);

-- The credit ledger. UNIQUE (reference_id, seq) is the second guard against a double credit:
-- two writers that raced on one payment cannot both commit its credit number seq.
CREATE TABLE credits (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    reference_id TEXT NOT NULL REFERENCES payments (reference_id),
    seq BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    amount_usd TEXT NOT NULL,
    credited_total_usd TEXT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events (id),
    created_at TEXT NOT NULL,
    UNIQUE (reference_id, seq)
);

CREATE INDEX credits_customer_id_id ON credits (customer_id, id);

-- Payout notifications already seen, keyed by payout and status.
CREATE TABLE payouts (
    payout_id TEXT NOT NULL,
    status TEXT NOT NULL,
    first_event_id BIGINT NOT NULL REFERENCES events (id),
    PRIMARY KEY (payout_id, status)
);
