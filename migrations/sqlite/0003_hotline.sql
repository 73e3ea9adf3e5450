-- 12345 hotline tickets and their imports. Ticket times are UTC epoch seconds: the metrics
-- load millions of them.

CREATE TABLE hotline_imports (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    profile TEXT NOT NULL,
    actor TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    inserted INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    committed BOOLEAN NOT NULL,
    report_path TEXT
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    ticket_no TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    channel TEXT NOT NULL,
    district TEXT NOT NULL,
    community_text TEXT NOT NULL,
    enterprise_text TEXT NOT NULL,
    credit_code_text TEXT NOT NULL,
    source_category TEXT NOT NULL,
    content TEXT NOT NULL,
    forwarded_at INTEGER,
    deadline_at INTEGER,
    responded_at INTEGER,
    closed_at INTEGER,
    satisfaction TEXT NOT NULL CHECK (satisfaction IN ('satisfied', 'basically', 'dissatisfied', 'unrated')),
    revisited BOOLEAN NOT NULL,
    revisited_at INTEGER,
    group_petition BOOLEAN NOT NULL,
    category TEXT NOT NULL,
    subcategory TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('general', 'important', 'special')),
    enterprise_id INTEGER REFERENCES enterprises (id),
    project_id INTEGER REFERENCES projects (id),
    county_id INTEGER REFERENCES jurisdictions (id),
    attribution TEXT NOT NULL,
    attribution_score INTEGER NOT NULL,
    row_hash TEXT NOT NULL,
    import_id INTEGER REFERENCES hotline_imports (id),
    updated_at INTEGER NOT NULL,
    UNIQUE (source, ticket_no)
);
CREATE INDEX tickets_enterprise ON tickets (enterprise_id, received_at);
-- Only the unmatched queue looks tickets up by attribution: a partial index stays small, and
-- each extra index slows a million-row import.
CREATE INDEX tickets_unmatched ON tickets (county_id) WHERE attribution = 'unmatched';
