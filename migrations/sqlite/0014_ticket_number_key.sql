-- PostgreSQL re-keys `tickets` by (ticket_no, source) in byte order so that a bulk load can
-- rebuild the key by sorting. SQLite already compares text byte by byte (BINARY), and its
-- bulk load keeps the key (its upserts need it), so its schema stays as it is.
SELECT 1;
