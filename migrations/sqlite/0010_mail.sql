-- Mail: the outbox becomes a durable queue a sender drains. Statuses: queued (waiting for its
-- next attempt), sending (leased by a worker until lease_until), sent, failed (given up until
-- an admin retries). A lease that runs out puts the message back in reach of any worker, so a
-- crashed worker's messages are retried. Each message carries its HTML part and the
-- Message-ID it goes out with (the outbox id is in it, so a resend after a lost lease is
-- recognisable), and the SMTP server's last answer.
-- SQLite cannot change a CHECK constraint in place ('pending' becomes 'queued'), so the table
-- is rebuilt; no other table references it.
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    html TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    reply TEXT,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    leased_by TEXT,
    message_id TEXT,
    sent_at TEXT
);
INSERT INTO outbox_new (id, recipient, subject, body, kind, status, attempts, last_error, created_at,
                        next_attempt_at, sent_at)
SELECT id, recipient, subject, body, kind, CASE status WHEN 'pending' THEN 'queued' ELSE status END,
       attempts, last_error, created_at, next_attempt_at, sent_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_lease ON outbox (status, lease_until);

-- One digest per recipient and Beijing day, whichever instance gets there first: the row is
-- inserted in the same transaction as the digest's outbox row (outbox_id stays NULL when the
-- recipient had nothing to report that day).
CREATE TABLE digest_runs (
    user_id INTEGER NOT NULL REFERENCES users (id),
    day TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, day)
);
