-- Generations of the data the hotline metrics read: `tickets` moves with every transaction that
-- changes tickets (imports and assignments bump it themselves: a trigger per row would slow a
-- million-row import), `registry` with every change to enterprises, projects or counties (names,
-- units delivered, Art. 7 parents), by trigger. Cached figures are keyed by both, so none is
-- ever served after its inputs changed.
CREATE TABLE generations (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- Names this database's facts file: one data directory may serve several databases.
    db_id TEXT NOT NULL,
    tickets INTEGER NOT NULL,
    registry INTEGER NOT NULL
);
-- Generation 1 means no ticket was ever written; a database that has tickets starts at 2.
INSERT INTO generations (id, db_id, tickets, registry)
VALUES (1, lower(hex(randomblob(16))), CASE WHEN EXISTS (SELECT 1 FROM tickets) THEN 2 ELSE 1 END, 1);

CREATE TRIGGER enterprises_generation_i AFTER INSERT ON enterprises BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
CREATE TRIGGER enterprises_generation_u AFTER UPDATE ON enterprises BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
CREATE TRIGGER enterprises_generation_d AFTER DELETE ON enterprises BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
CREATE TRIGGER projects_generation_i AFTER INSERT ON projects BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
CREATE TRIGGER projects_generation_u AFTER UPDATE ON projects BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
CREATE TRIGGER projects_generation_d AFTER DELETE ON projects BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
CREATE TRIGGER jurisdictions_generation_u AFTER UPDATE ON jurisdictions BEGIN UPDATE generations SET registry = registry + 1 WHERE id = 1; END;
