-- A re-mirror by difference asks for the deletions of one table and affiliate after a given
-- change (the newest one a destination holds in the hours it compares), within the event time
-- of the chunk it works on. The index answers the first without reading the affiliate's whole
-- history of deletions; `occurred_at`, the deleted row's event time, narrows them to the chunk.
-- It is NULL for dimension tables, for keys changed by hand and for deletions recorded before
-- this migration: such deletions belong to every chunk.

ALTER TABLE deleted_rows ADD COLUMN occurred_at timestamptz;

CREATE INDEX deleted_rows_since ON deleted_rows (table_name, affiliate_id, change_seq);

CREATE FUNCTION record_event_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO deleted_rows (table_name, affiliate_id, id, occurred_at)
  SELECT TG_TABLE_NAME, affiliate_id, id, occurred_at FROM old_rows;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['clicks', 'conversions', 'pageviews'] LOOP
    EXECUTE format('DROP TRIGGER record_deletions ON %I', t);
    EXECUTE format('CREATE TRIGGER record_deletions AFTER DELETE ON %I
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_event_deletions()', t);
  END LOOP;
END $$;
