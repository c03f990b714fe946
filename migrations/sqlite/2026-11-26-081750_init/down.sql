-- Reverses up.sql: drops every table (and with them their indexes), dependents first.
DROP TABLE payouts;
DROP TABLE credits;
DROP TABLE events;
DROP TABLE payments;
