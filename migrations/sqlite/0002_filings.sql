-- Filings of the after-sales org (Art. 4–7, 11, 12), their files, reviews and revisions;
-- the blob index; the e-mail outbox.

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE filings (
    id INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    kind TEXT NOT NULL CHECK (kind IN ('establishment', 'manager_change', 'office_change', 'hotline_change',
        'staff_change', 'documents', 'notice_board', 'delegation')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'withdrawn')),
    payload TEXT NOT NULL,
    effective_on TEXT,
    place_kind TEXT CHECK (place_kind IN ('org_office', 'sales_site', 'community')),
    place_project_id INTEGER REFERENCES projects (id),
    revision INTEGER NOT NULL DEFAULT 0,
    late BOOLEAN NOT NULL DEFAULT 0,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_submitted_at TEXT,
    submitted_at TEXT,
    decided_at TEXT,
    decided_by INTEGER REFERENCES users (id)
);
CREATE INDEX filings_enterprise ON filings (enterprise_id, status);
CREATE INDEX filings_status ON filings (status, submitted_at);

CREATE TABLE filing_files (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings (id) ON DELETE CASCADE,
    slot TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX filing_files_filing ON filing_files (filing_id);

CREATE TABLE filing_reviews (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings (id),
    revision INTEGER NOT NULL,
    reviewer_id INTEGER NOT NULL REFERENCES users (id),
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reasons TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX filing_reviews_filing ON filing_reviews (filing_id);

CREATE TABLE filing_revisions (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings (id),
    revision INTEGER NOT NULL,
    payload TEXT NOT NULL,
    files TEXT NOT NULL,
    submitted_by INTEGER NOT NULL REFERENCES users (id),
    submitted_at TEXT NOT NULL,
    UNIQUE (filing_id, revision)
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);
