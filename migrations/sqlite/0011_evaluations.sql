-- The annual credit evaluation (Art. 21–23). A run is immutable once computed: the rule set
-- it used (its whole text and hash), a hash of its input snapshot and of its results, the
-- engine version, who and when. Only its lifecycle moves: draft → publicized (公示) → final.
-- Objections (异议) never edit a result: an upheld one overrides its item, and totals are read
-- with the overrides applied.
CREATE TABLE evaluation_runs (
    id INTEGER PRIMARY KEY,
    year INTEGER NOT NULL,
    as_of TEXT NOT NULL,
    rule_set_id TEXT NOT NULL,
    rule_set_title TEXT NOT NULL,
    rules_text TEXT NOT NULL,
    rules_hash TEXT NOT NULL,
    inputs_hash TEXT NOT NULL,
    results_hash TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    -- Outside the rule set's validity window, run anyway: says so forever.
    forced BOOLEAN NOT NULL,
    enterprises INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'publicized', 'final')),
    publicity_days INTEGER NOT NULL,
    publicized_at TEXT,
    -- The last day (Beijing) objections are taken.
    publicity_ends TEXT,
    finalized_at TEXT,
    created_by_user INTEGER REFERENCES users (id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX evaluation_runs_year ON evaluation_runs (year, id);
-- One published (publicized or final) run per year: what an enterprise's standing reads.
CREATE UNIQUE INDEX evaluation_runs_published ON evaluation_runs (year) WHERE status <> 'draft';

CREATE TABLE evaluation_results (
    run_id INTEGER NOT NULL REFERENCES evaluation_runs (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    county_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    grade TEXT NOT NULL,
    total INTEGER NOT NULL,
    no_2a BOOLEAN NOT NULL,
    -- The total and the 2A ceiling with upheld objections applied; equal to the computed ones
    -- until an objection is upheld.
    final_total INTEGER NOT NULL,
    final_no_2a BOOLEAN NOT NULL,
    -- The metric values and the evaluation with its trace, as JSON.
    inputs TEXT NOT NULL,
    evaluation TEXT NOT NULL,
    PRIMARY KEY (run_id, enterprise_id)
);
CREATE INDEX evaluation_results_county ON evaluation_results (run_id, county_id, final_total);
CREATE INDEX evaluation_results_enterprise ON evaluation_results (enterprise_id, run_id);

CREATE TABLE objections (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES evaluation_runs (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    rule TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
    points_before INTEGER NOT NULL,
    -- For an upheld objection: the item's points and whether its flag stands, as overridden.
    points_after INTEGER,
    flag_cleared BOOLEAN,
    reason TEXT,
    filed_by INTEGER NOT NULL REFERENCES users (id),
    filed_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES users (id),
    decided_at TEXT,
    UNIQUE (run_id, enterprise_id, rule)
);
CREATE INDEX objections_run ON objections (run_id, status);

CREATE TABLE objection_files (
    id INTEGER PRIMARY KEY,
    objection_id INTEGER NOT NULL REFERENCES objections (id),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX objection_files_objection ON objection_files (objection_id);
