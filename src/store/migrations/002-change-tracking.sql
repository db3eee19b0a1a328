-- Change tracking for the continuous mirror. Every row of the tracking tables carries the
-- change that last wrote it: `change_seq` (one sequence for all tables) and `change_xid`, the
-- writing transaction. Deletions leave a row in `deleted_rows`.
--
-- A reader follows changes in (change_xid, change_seq) order and only reads changes of
-- transactions older than the oldest one still running (pg_snapshot_xmin): those are all
-- finished, and every transaction still to commit has a larger xid. So a change that commits
-- late can never fall behind a reader's cursor, which a plain sequence cannot promise.

CREATE SEQUENCE change_seq AS bigint;

CREATE FUNCTION touch_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := nextval('change_seq');
  NEW.change_xid := pg_current_xact_id();
  -- A key changed by hand: for the mirror the old key is gone.
  IF (OLD.affiliate_id, OLD.id) IS DISTINCT FROM (NEW.affiliate_id, NEW.id) THEN
    INSERT INTO deleted_rows (table_name, affiliate_id, id) VALUES (TG_TABLE_NAME, OLD.affiliate_id, OLD.id);
  END IF;
  RETURN NEW;
END $$;

CREATE TABLE deleted_rows (
  table_name text NOT NULL,
  affiliate_id integer NOT NULL,
  id text NOT NULL,
  change_seq bigint NOT NULL DEFAULT nextval('change_seq'),
  change_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deleted_rows_changes ON deleted_rows (table_name, affiliate_id, change_xid, change_seq);

CREATE FUNCTION record_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO deleted_rows (table_name, affiliate_id, id)
  SELECT TG_TABLE_NAME, affiliate_id, id FROM old_rows;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['clicks', 'conversions', 'pageviews', 'brands', 'programs',
                           'accounts', 'traffic_sources', 'links'] LOOP
    EXECUTE format('ALTER TABLE %I
      ADD COLUMN change_seq bigint NOT NULL DEFAULT nextval(''change_seq''),
      ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id()', t);
    EXECUTE format('CREATE INDEX %I ON %I (affiliate_id, change_xid, change_seq)', t || '_changes', t);
    EXECUTE format('CREATE TRIGGER touch_change BEFORE UPDATE ON %I FOR EACH ROW
      WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION touch_change()', t);
    EXECUTE format('CREATE TRIGGER record_deletions AFTER DELETE ON %I
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_deletions()', t);
  END LOOP;
END $$;

-- Per connector and table: how far the continuous mirror has got, copied from the
-- destination (which keeps the authoritative cursor in the same transaction as the rows).
CREATE TABLE sync_state (
  connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
  table_name text NOT NULL,
  cursor_xid xid8 NOT NULL DEFAULT '0',
  cursor_seq bigint NOT NULL DEFAULT 0,
  last_synced_at timestamptz,
  caught_up_at timestamptz,
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_error_code text,
  last_error text,
  PRIMARY KEY (connector_id, table_name)
);

ALTER TABLE connectors
  ADD COLUMN broken_until timestamptz,
  ADD COLUMN broken_reason text;

ALTER TABLE executions
  ADD COLUMN worker_id text,
  ADD COLUMN heartbeat_at timestamptz,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN cancel_requested_at timestamptz,
  ADD COLUMN current_chunk text,
  -- The chunk ranges, fixed when the execution first starts, so that a resumed execution
  -- means the same chunks by the same indexes even if the source changed meanwhile.
  ADD COLUMN chunk_plan jsonb;

-- Reload requests sent with an Idempotency-Key, and the execution each one was answered with
-- (a new one, or an identical one already queued or running).
CREATE TABLE idempotency_keys (
  connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
  key text NOT NULL,
  request_hash text NOT NULL,
  execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connector_id, key)
);
CREATE INDEX executions_active ON executions (connector_id) WHERE status IN ('queued', 'running');

ALTER TABLE execution_chunks ADD COLUMN worker_id text;

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_policy_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_policy_check
  CHECK (policy IN ('AccountAdmin', 'AccountUser', 'TrackingWriter'));
