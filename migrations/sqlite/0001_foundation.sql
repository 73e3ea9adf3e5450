-- Foundation: jurisdictions, enterprises, projects, accounts, sessions, audit log.
-- Timestamps are UTC RFC 3339 text, dates ISO text; booleans 0/1.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE jurisdictions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('city', 'county')),
    parent_id INTEGER REFERENCES jurisdictions (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((kind = 'city') = (parent_id IS NULL))
);

CREATE TABLE enterprises (
    id INTEGER PRIMARY KEY,
    credit_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    legal_rep TEXT NOT NULL DEFAULT '',
    grade TEXT NOT NULL CHECK (grade IN ('first', 'second', 'third', 'fourth', 'provisional')),
    is_local BOOLEAN NOT NULL DEFAULT 1,
    origin TEXT NOT NULL DEFAULT '',
    parent_id INTEGER REFERENCES enterprises (id),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'cancelled')),
    status_date TEXT,
    county_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK ((status = 'active') = (status_date IS NULL))
);
CREATE INDEX enterprises_county ON enterprises (county_id);
CREATE INDEX enterprises_name ON enterprises (name);
CREATE INDEX enterprises_parent ON enterprises (parent_id);

CREATE TABLE enterprise_aliases (
    id INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    UNIQUE (enterprise_id, alias)
);
CREATE INDEX enterprise_aliases_alias ON enterprise_aliases (alias);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    county_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    sales_site_open BOOLEAN NOT NULL DEFAULT 0,
    delivery_date TEXT,
    units_delivered INTEGER NOT NULL DEFAULT 0 CHECK (units_delivered >= 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (enterprise_id, name)
);
CREATE INDEX projects_county ON projects (county_id);
CREATE INDEX projects_name ON projects (name);

CREATE TABLE project_aliases (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    UNIQUE (project_id, alias)
);
CREATE INDEX project_aliases_alias ON project_aliases (alias);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('city_admin', 'county_officer', 'enterprise')),
    county_id INTEGER REFERENCES jurisdictions (id),
    enterprise_id INTEGER REFERENCES enterprises (id),
    email TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((role = 'county_officer') = (county_id IS NOT NULL)),
    CHECK ((role = 'enterprise') = (enterprise_id IS NOT NULL))
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id INTEGER,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

-- The audit log is append-only: history that can be rewritten is no evidence.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
