-- The platform's own store: tenants, their tokens and connectors, executions, and the
-- tracking data that connectors mirror. Event and dimension tables have exactly the
-- columns of the mirror layout in src/mirror/tables.ts.

CREATE TABLE affiliates (
  id integer PRIMARY KEY,
  name text NOT NULL,
  features text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  token_prefix text NOT NULL,
  policy text NOT NULL CHECK (policy IN ('AccountAdmin', 'AccountUser')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE TABLE api_token_affiliates (
  token_id bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
  affiliate_id integer NOT NULL REFERENCES affiliates (id) ON DELETE CASCADE,
  PRIMARY KEY (token_id, affiliate_id)
);

CREATE TABLE connectors (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  engine text NOT NULL CHECK (engine IN ('PostgresSQL', 'SqlServer')),
  host text NOT NULL,
  port integer NOT NULL,
  database text NOT NULL,
  schema text NOT NULL,
  username text NOT NULL,
  password_encrypted bytea NOT NULL,
  use_ssl boolean NOT NULL,
  enabled boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX connectors_affiliate ON connectors (affiliate_id) WHERE deleted_at IS NULL;

CREATE TABLE executions (
  id uuid PRIMARY KEY,
  connector_id bigint NOT NULL REFERENCES connectors (id),
  affiliate_id integer NOT NULL,
  data_type text NOT NULL,
  window_from timestamptz,
  window_to timestamptz,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  chunks_total integer NOT NULL DEFAULT 0,
  chunks_done integer NOT NULL DEFAULT 0,
  rows_read bigint NOT NULL DEFAULT 0,
  rows_written bigint NOT NULL DEFAULT 0,
  rows_inserted bigint NOT NULL DEFAULT 0,
  rows_updated bigint NOT NULL DEFAULT 0,
  rows_deleted bigint NOT NULL DEFAULT 0,
  error_code text,
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executions_connector ON executions (connector_id, created_at DESC);

-- One row per chunk of an execution, written after the chunk's destination transaction
-- committed. A chunk replays idempotently, so a crash between the two only repeats work.
CREATE TABLE execution_chunks (
  execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  chunk_index integer NOT NULL,
  range_from timestamptz,
  range_to timestamptz,
  table_name text NOT NULL,
  rows_read bigint NOT NULL,
  rows_written bigint NOT NULL,
  rows_inserted bigint NOT NULL DEFAULT 0,
  rows_updated bigint NOT NULL DEFAULT 0,
  rows_deleted bigint NOT NULL,
  duration_ms integer NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, chunk_index)
);

CREATE TABLE clicks (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  brand_id text,
  program_id text,
  traffic_source_id text,
  link_id text,
  ip text,
  device text,
  os text,
  user_agent text,
  referrer text,
  PRIMARY KEY (affiliate_id, id)
);
CREATE INDEX clicks_time ON clicks (affiliate_id, occurred_at);

CREATE TABLE conversions (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  click_id text,
  brand_id text,
  program_id text,
  traffic_source_id text,
  status text,
  amount numeric(19, 4),
  currency text,
  PRIMARY KEY (affiliate_id, id)
);
CREATE INDEX conversions_time ON conversions (affiliate_id, occurred_at);

CREATE TABLE pageviews (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  ip text,
  method text,
  path text,
  status_code integer,
  bytes bigint,
  referrer text,
  user_agent text,
  PRIMARY KEY (affiliate_id, id)
);
CREATE INDEX pageviews_time ON pageviews (affiliate_id, occurred_at);

CREATE TABLE brands (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  name text,
  PRIMARY KEY (affiliate_id, id)
);

CREATE TABLE programs (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  name text,
  brand_id text,
  PRIMARY KEY (affiliate_id, id)
);

CREATE TABLE accounts (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  name text,
  email text,
  PRIMARY KEY (affiliate_id, id)
);

CREATE TABLE traffic_sources (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  name text,
  PRIMARY KEY (affiliate_id, id)
);

CREATE TABLE links (
  affiliate_id integer NOT NULL REFERENCES affiliates (id),
  id text NOT NULL,
  url text,
  program_id text,
  traffic_source_id text,
  PRIMARY KEY (affiliate_id, id)
);
