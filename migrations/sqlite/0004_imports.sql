-- Import trust: rejected-row reports served by id (never by server path), and which source
-- columns each hotline import had, so a metric whose column was missing reads unknown, not 0.

CREATE TABLE import_reports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id),
    -- The importing officer's county; NULL for the city or the CLI.
    county_id INTEGER REFERENCES jurisdictions (id),
    created_at TEXT NOT NULL,
    content BLOB NOT NULL
);

-- Comma list of the profile fields the file had a column for.
ALTER TABLE hotline_imports ADD COLUMN fields TEXT NOT NULL DEFAULT '';
ALTER TABLE hotline_imports ADD COLUMN report_id INTEGER REFERENCES import_reports (id);
-- Bit i set: the ticket's import had a column for hotline::profile::FIELDS[i]. Tickets imported
-- before this migration count as having had every column, as the metrics assumed then.
ALTER TABLE tickets ADD COLUMN source_fields INTEGER NOT NULL DEFAULT 131071;
