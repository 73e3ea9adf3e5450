-- A generation of the filings, beside those of 0007: the officers' worklist (pending reviews,
-- enterprises without an org, notice-board coverage) is served from memory per (registry,
-- filings) generation, and this one moves with every change to a filing, by a statement
-- trigger, so a filing approved, rejected or withdrawn is in the very next worklist.
ALTER TABLE generations ADD COLUMN filings BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION bump_filings_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generations SET filings = filings + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER filings_generation AFTER INSERT OR UPDATE OR DELETE ON filings
    FOR EACH STATEMENT EXECUTE FUNCTION bump_filings_generation();
