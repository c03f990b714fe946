-- Running totals of the credit ledger, kept in the transaction of each credit, so that
-- /metrics and /readyz never scan the ledger. One row (id 1). The store writes it when it
-- opens a database that has none, summing the existing credits exactly (SQLite's SUM would go
-- through floating point).
CREATE TABLE ledger_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    credits INTEGER NOT NULL CHECK (credits >= 0),
    credited_usd TEXT NOT NULL
);

-- Reconciliation corrections are counted by origin and outcome, without scanning every event.
CREATE INDEX events_origin_outcome ON events (origin, outcome);
