-- Mail: the outbox becomes a durable queue a sender drains. Statuses: queued (waiting for its
-- next attempt), sending (leased by a worker until lease_until), sent, failed (given up until
-- an admin retries). A lease that runs out puts the message back in reach of any worker, so a
-- crashed worker's messages are retried. Each message carries its HTML part and the
-- Message-ID it goes out with (the outbox id is in it, so a resend after a lost lease is
-- recognisable), and the SMTP server's last answer.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ALTER COLUMN status DROP DEFAULT;
UPDATE outbox SET status = 'queued' WHERE status = 'pending';
ALTER TABLE outbox ALTER COLUMN status SET DEFAULT 'queued';
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('queued', 'sending', 'sent', 'failed'));
ALTER TABLE outbox ADD COLUMN html TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN reply TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN leased_by TEXT;
ALTER TABLE outbox ADD COLUMN message_id TEXT;
DROP INDEX outbox_pending;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_lease ON outbox (status, lease_until);

-- One digest per recipient and Beijing day, whichever instance gets there first: the row is
-- inserted in the same transaction as the digest's outbox row (outbox_id stays NULL when the
-- recipient had nothing to report that day).
CREATE TABLE digest_runs (
    user_id BIGINT NOT NULL REFERENCES users (id),
    day DATE NOT NULL,
    outbox_id BIGINT REFERENCES outbox (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, day)
);
