-- A re-mirror by difference works one chunk of event time at a time; `occurred_at`, the
-- deleted row's event time, lets it read only the deletions of its chunk. It is NULL for
-- dimension tables, for keys changed by hand and for deletions recorded before this
-- migration: such deletions belong to every chunk.

ALTER TABLE deleted_rows ADD COLUMN occurred_at timestamptz;

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
