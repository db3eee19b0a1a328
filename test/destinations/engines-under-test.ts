/**
 * The destination engines the engine-independent suites run against. PostgreSQL always runs
 * (on the server `npm test` started); SQL Server runs only when MSSQL_URL names a server, and
 * its suites are skipped, saying why, when it does not.
 *
 * Rows are read back in one canonical text form per column type, so that one assertion can
 * hold for every engine:
 * - text: the exact string; integer, bigint: decimal digits;
 * - timestamptz: UTC with six fractional digits, `2017-11-07T00:00:00.000001Z`;
 * - money: plain decimal with exactly four fractional digits, `12345678901234.5678`;
 * - boolean: `true` / `false`; NULL: null.
 */
import type pg from 'pg';

import type { ConnectionSettings, Engine } from '../../src/destinations/destination.ts';
import type { ColumnType, MirrorTable } from '../../src/mirror/tables.ts';
import { qualifiedName, quoteIdentifier } from '../../src/sql/postgres-identifiers.ts';
import { Secret } from '../../src/secret.ts';
import { createTestDatabase } from '../support/databases.ts';
import { sqlServerUnderTest } from './sqlserver-under-test.ts';

export type CanonicalRow = Array<string | null>;

export interface SchemaUnderTest {
  settings: ConnectionSettings;
  /** The affiliate's rows of `table`, ordered by id, columns in catalogue order, canonical. */
  readRows(table: MirrorTable, affiliateId: number): Promise<CanonicalRow[]>;
  /** Runs SQL as the server's owner, e.g. to alter a mirror table behind the mirror's back. */
  execute(sql: string): Promise<void>;
  /** The schema's name, quoted for this engine, to build `execute` statements with. */
  quote(name: string): string;
}

export interface EngineUnderTest {
  engine: Engine;
  /** Set when this engine's server is not available here; suites are skipped with it. */
  skipReason?: string;
  /** A new, empty destination on a real server, removed when the test file ends. */
  createSchema(label: string): Promise<SchemaUnderTest>;
}

/** Canonical text of a PostgreSQL value of each catalogue type, computed by the server. */
const postgresCanonical: Record<ColumnType, (column: string) => string> = {
  text: (column) => column,
  integer: (column) => `${column}::text`,
  bigint: (column) => `${column}::text`,
  timestamptz: (column) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  money: (column) => `to_char(${column}, 'FM999999999999999990.0000')`,
  boolean: (column) => `${column}::text`,
};

/**
 * The affiliate's rows of `table` in `relation` (a quoted, possibly qualified name), canonical,
 * ordered by id; limited to `from <= occurred_at < toExclusive` when a range is given. Reads the
 * platform store's tables as well as a PostgreSQL mirror's.
 */
export async function postgresCanonicalRows(
  pool: pg.Pool,
  relation: string,
  table: MirrorTable,
  affiliateId: number,
  range?: { from: string; toExclusive: string },
): Promise<CanonicalRow[]> {
  const columns = table.columns.map((column) =>
    postgresCanonical[column.type](quoteIdentifier(column.name)),
  );
  const inRange = range
    ? 'AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz'
    : '';
  const result = await pool.query({
    text: `SELECT ${columns.join(', ')} FROM ${relation}
            WHERE affiliate_id = $1 ${inRange} ORDER BY id COLLATE "C"`,
    values: range ? [affiliateId, range.from, range.toExclusive] : [affiliateId],
    rowMode: 'array',
  });
  return result.rows as CanonicalRow[];
}

/**
 * PostgreSQL destinations live on the external server of MIRROR_TEST_DESTINATION_URL when it is
 * set (CI starts Debian's PostgreSQL, another major version than the store's), else on the
 * test server.
 */
export const postgresUnderTest: EngineUnderTest = {
  engine: 'PostgresSQL',
  async createSchema(label) {
    const serverUrl = process.env.MIRROR_TEST_DESTINATION_URL || undefined;
    const database = await createTestDatabase(label, { serverUrl });
    const url = new URL(database.url);
    const settings: ConnectionSettings = {
      engine: 'PostgresSQL',
      host: url.hostname,
      port: Number(url.port),
      database: database.name,
      schema: 'mirror',
      username: decodeURIComponent(url.username),
      password: new Secret(decodeURIComponent(url.password)),
      useSsl: false,
    };

    return {
      settings,
      quote: quoteIdentifier,
      readRows: (table, affiliateId) =>
        postgresCanonicalRows(
          database.pool,
          qualifiedName(settings.schema, table.name),
          table,
          affiliateId,
        ),
      async execute(sql) {
        await database.pool.query(sql);
      },
    };
  },
};

/** Every engine, in a fixed order; suites loop over it and skip the unavailable ones. */
export const enginesUnderTest: EngineUnderTest[] = [postgresUnderTest, sqlServerUnderTest];
