-- SQLite rebuilds `tickets` here so that its CHECK constraints do not build a temporary
-- b-tree per inserted row. PostgreSQL evaluates `IN (...)` in place: nothing to change.
SELECT 1;
