-- A re-mirror by difference asks for the deletions of one table and affiliate after a given
-- change (the newest one a destination holds in the hours it compares); this index answers
-- that without reading the affiliate's whole history of deletions.
CREATE INDEX deleted_rows_since ON deleted_rows (table_name, affiliate_id, change_seq);
