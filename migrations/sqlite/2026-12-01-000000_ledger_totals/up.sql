-- Running totals of the credit ledger, kept in the transaction of each credit (and of each
-- payment that reconciliation moves forward), so that /metrics and /readyz never scan the
-- ledger or the event log. One row (id 1). The store writes it when it opens a database that
-- has none, summing the existing credits exactly (SQLite's SUM would go through floating
-- point) and counting the reconciliation events that were applied.
CREATE TABLE ledger_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    credits INTEGER NOT NULL CHECK (credits >= 0),
    credited_usd TEXT NOT NULL,
    reconciliation_corrections INTEGER NOT NULL CHECK (reconciliation_corrections >= 0)
);
