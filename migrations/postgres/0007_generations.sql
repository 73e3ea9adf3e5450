-- Generations of the data the hotline metrics read: `tickets` moves with every transaction that
-- changes tickets (imports and assignments bump it themselves), `registry` with every change to
-- enterprises, projects or counties (names, units delivered, Art. 7 parents), by a statement
-- trigger. Cached figures are keyed by both, so none is ever served after its inputs changed.
CREATE TABLE generations (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tickets BIGINT NOT NULL,
    registry BIGINT NOT NULL
);
INSERT INTO generations (id, tickets, registry) VALUES (1, 1, 1);

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
