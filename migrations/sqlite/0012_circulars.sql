-- Circulars (通报, Art. 21). A draft holds the content built from the data (JSON: text,
-- tables, charts' data and what it was built from); issuing gives it a document number and
-- a date and freezes it: nothing updates an issued row.
CREATE TABLE circulars (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('org', 'hotline', 'evaluation')),
    -- 2025 or 2025-03
    period TEXT NOT NULL,
    -- A county's circular; the city's when null.
    county_id INTEGER REFERENCES jurisdictions (id),
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'issued')),
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    -- 济建房字〔2026〕3号: prefix, year and sequence, unique per issuer and year.
    doc_prefix TEXT,
    doc_year INTEGER,
    doc_seq INTEGER,
    doc_number TEXT,
    issued_on TEXT,
    issued_by_user INTEGER REFERENCES users (id),
    issued_by TEXT,
    issued_at TEXT,
    created_by_user INTEGER REFERENCES users (id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (doc_prefix, doc_year, doc_seq)
);
CREATE INDEX circulars_county ON circulars (county_id, id);
CREATE INDEX circulars_issued ON circulars (status, issued_at);

-- The enterprises a circular names: its readers in the portal, the recipients of its mail.
CREATE TABLE circular_enterprises (
    circular_id INTEGER NOT NULL REFERENCES circulars (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    PRIMARY KEY (circular_id, enterprise_id)
);
CREATE INDEX circular_enterprises_enterprise ON circular_enterprises (enterprise_id, circular_id);
