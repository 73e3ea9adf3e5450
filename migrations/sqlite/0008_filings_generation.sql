-- A generation of the filings, beside those of 0007: the officers' worklist (pending reviews,
-- enterprises without an org, notice-board coverage) is served from memory per (registry,
-- filings) generation, and this one moves with every change to a filing, by trigger, so a
-- filing approved, rejected or withdrawn is in the very next worklist. Filings change one at a
-- time, through a person, so a row trigger costs nothing that matters.
ALTER TABLE generations ADD COLUMN filings INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER filings_generation_i AFTER INSERT ON filings BEGIN UPDATE generations SET filings = filings + 1 WHERE id = 1; END;
CREATE TRIGGER filings_generation_u AFTER UPDATE ON filings BEGIN UPDATE generations SET filings = filings + 1 WHERE id = 1; END;
CREATE TRIGGER filings_generation_d AFTER DELETE ON filings BEGIN UPDATE generations SET filings = filings + 1 WHERE id = 1; END;
