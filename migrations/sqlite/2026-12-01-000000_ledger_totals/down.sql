DROP INDEX events_origin_outcome;
DROP TABLE ledger_totals;
