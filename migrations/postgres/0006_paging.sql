-- Paging at city scale (a million tickets, ten thousand enterprises): lists read a page in
-- index order instead of sorting every row, and count from a narrow index.

-- The ticket list, newest first: a page is read backwards from the end of this index. Its
-- count with no filter can scan this index only.
CREATE INDEX tickets_received ON tickets (received_at, id);
-- A county officer's count: the county's tickets and the unattributed ones without a county.
CREATE INDEX tickets_county ON tickets (county_id, enterprise_id);

-- Enterprise and project lists, county by county in name order.
CREATE INDEX enterprises_county_name ON enterprises (county_id, name);
DROP INDEX enterprises_county;
CREATE INDEX projects_county_name ON projects (county_id, name);
DROP INDEX projects_county;
