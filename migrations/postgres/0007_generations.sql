-- Generations of the data the hotline metrics read: `tickets` moves with every transaction that
-- changes tickets (imports and assignments bump it themselves), `registry` with every change to
-- enterprises, projects or counties (names, units delivered, Art. 7 parents), by a statement
-- trigger. Cached figures are keyed by both, so none is ever served after its inputs changed.
CREATE TABLE generations (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- Names this database's facts file: one data directory may serve several databases.
    db_id TEXT NOT NULL,
    tickets BIGINT NOT NULL,
    registry BIGINT NOT NULL
);
-- Generation 1 means no ticket was ever written; a database that has tickets starts at 2.
INSERT INTO generations (id, db_id, tickets, registry)
VALUES (1, md5(random()::text || clock_timestamp()::text), CASE WHEN EXISTS (SELECT 1 FROM tickets) THEN 2 ELSE 1 END, 1);

CREATE FUNCTION bump_registry_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generations SET registry = registry + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER enterprises_generation AFTER INSERT OR UPDATE OR DELETE ON enterprises
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER projects_generation AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER jurisdictions_generation AFTER UPDATE ON jurisdictions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
