-- Paging at city scale (a million tickets, ten thousand enterprises): lists read a page in
-- index order instead of sorting every row, and count from a narrow index.

-- The ticket list, newest first: the index order (received_at, rowid) is the list's order,
-- so a page is read from the end of the index. Its count with no filter scans this index.
CREATE INDEX tickets_received ON tickets (received_at);
-- A county officer's count: the county's tickets and the unattributed ones without a county,
-- both answered from this index without reading the rows.
CREATE INDEX tickets_county ON tickets (county_id, enterprise_id);

-- Enterprise and project lists, county by county in name order.
CREATE INDEX enterprises_county_name ON enterprises (county_id, name);
DROP INDEX enterprises_county;
CREATE INDEX projects_county_name ON projects (county_id, name);
DROP INDEX projects_county;
