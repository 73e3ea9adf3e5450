-- Enforcement (Art. 16, 22): cases as timelines of events; reminders queued once per deadline;
-- dismissed case suggestions; group-petition follow-ups.

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    ground TEXT NOT NULL CHECK (ground IN ('no_org', 'not_functioning', 'other')),
    ground_text TEXT NOT NULL DEFAULT '',
    -- Follows from the events; kept here so lists can filter and sort without replaying them.
    state TEXT NOT NULL CHECK (state IN ('opened', 'interviewed', 'ordered', 'submitted', 'overdue', 'rectified', 'closed')),
    document_no TEXT,
    deadline TEXT,
    deadline_rule TEXT,
    -- Overdue is a fact, never undone by a later rectification: the Beijing midnight after the
    -- missed deadline, and the evaluation year it counts for (−20, no 2A grade).
    overdue_at TEXT,
    overdue_year INTEGER,
    rectified_on TEXT,
    suggestion TEXT,
    opened_by INTEGER REFERENCES users (id),
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_enterprise ON cases (enterprise_id, state);
CREATE INDEX cases_state_deadline ON cases (state, deadline);
CREATE INDEX cases_overdue_year ON cases (overdue_year) WHERE overdue_year IS NOT NULL;

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('opened', 'interview', 'order', 'submission', 'verification', 'overdue', 'closed')),
    payload TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE case_files (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES case_events (id),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX case_files_event ON case_files (event_id);

-- One reminder per case, deadline and lead time: the key makes a second scheduler a no-op.
CREATE TABLE case_reminders (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    deadline TEXT NOT NULL,
    days_before INTEGER NOT NULL,
    queued_at TEXT NOT NULL,
    PRIMARY KEY (case_id, deadline, days_before)
);

-- Each missed deadline once: what the −20 rule and the 2A ceiling read, by evaluation year.
CREATE TABLE case_overdues (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    deadline TEXT NOT NULL,
    year INTEGER NOT NULL,
    overdue_at TEXT NOT NULL,
    PRIMARY KEY (case_id, deadline)
);
CREATE INDEX case_overdues_year ON case_overdues (year);

-- One "report due" reminder per group petition.
CREATE TABLE petition_reminders (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
    queued_at TEXT NOT NULL
);

CREATE TABLE suggestion_dismissals (
    id INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    reason TEXT NOT NULL,
    dismissed_by INTEGER REFERENCES users (id),
    dismissed_at TEXT NOT NULL,
    UNIQUE (enterprise_id, kind, year)
);

CREATE TABLE petition_followups (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
    manager_name TEXT NOT NULL DEFAULT '',
    -- Epoch seconds, as tickets keep their times.
    manager_on_site_at INTEGER,
    reported_at INTEGER,
    note TEXT NOT NULL DEFAULT '',
    recorded_by INTEGER REFERENCES users (id),
    updated_at TEXT NOT NULL
);

-- Group petitions (Art. 16) are few among millions of tickets: a partial index finds them.
CREATE INDEX tickets_petition ON tickets (received_at) WHERE group_petition;
