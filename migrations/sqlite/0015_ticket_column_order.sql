-- PostgreSQL rewrites `tickets` with its fixed-width columns first, so that a row's late
-- columns are found without walking the texts before them. A SQLite record starts with a
-- header of every column's size, and its values are not aligned: a late column costs a few
-- header bytes, and its schema stays as it is.
SELECT 1;
