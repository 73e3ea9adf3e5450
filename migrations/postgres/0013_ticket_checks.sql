-- SQLite rebuilds `tickets` here so that its CHECK constraints do not build a temporary
-- b-tree per inserted row; PostgreSQL evaluates `IN (...)` in place. Both extend the index of
-- group petitions with the enterprise: the late-report counts beside every metrics and
-- rankings page then read the index alone, not the table once per petition.
DROP INDEX tickets_petition;
CREATE INDEX tickets_petition ON tickets (received_at, enterprise_id) WHERE group_petition;
