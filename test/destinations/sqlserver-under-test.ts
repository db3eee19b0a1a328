/**
 * SQL Server as an engine under test (see engines-under-test.ts). Active only when MSSQL_URL
 * names a server, e.g. `mssql://sa:Passw0rd@127.0.0.1:1433/master`: each test file then gets a
 * database of its own, dropped when the file's tests end. Rows are read back in the canonical
 * forms by the server itself, with CONVERT and string functions only (FORMAT needs the CLR,
 * which some editions lack).
 */
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';

import type { ConnectionSettings } from '../../src/destinations/destination.ts';
import { SqlServerSession } from '../../src/destinations/sqlserver/connection.ts';
import type { ColumnType } from '../../src/mirror/tables.ts';
import { qualifiedName, quoteIdentifier } from '../../src/sql/sqlserver-identifiers.ts';
import { Secret } from '../../src/secret.ts';
import type { CanonicalRow, EngineUnderTest } from './engines-under-test.ts';

const MSSQL_URL = process.env.MSSQL_URL;

function serverSettings(url: string, database?: string): ConnectionSettings {
  const parsed = new URL(url);
  return {
    engine: 'SqlServer',
    host: parsed.hostname,
    port: Number(parsed.port || 1433),
    database: database ?? (parsed.pathname.slice(1) || 'master'),
    schema: 'mirror',
    username: decodeURIComponent(parsed.username),
    password: new Secret(decodeURIComponent(parsed.password)),
    useSsl: parsed.searchParams.get('encrypt') === 'true',
  };
}

/** The value as UTC with six fractional digits and a Z: `2017-11-07T00:00:00.000001Z`. */
function canonicalInstant(column: string): string {
  const utc = `SWITCHOFFSET(${column}, N'+00:00')`;
  return `CONVERT(nvarchar(10), CAST(${utc} AS date), 23) + N'T' + CAST(CAST(${utc} AS time(6)) AS nvarchar(15)) + N'Z'`;
}

const canonical: Record<ColumnType, (column: string) => string> = {
  text: (column) => column,
  integer: (column) => `CONVERT(nvarchar(20), ${column})`,
  bigint: (column) => `CONVERT(nvarchar(20), ${column})`,
  timestamptz: canonicalInstant,
  money: (column) => `CONVERT(nvarchar(40), ${column})`,
  boolean: (column) => `CASE ${column} WHEN 1 THEN N'true' WHEN 0 THEN N'false' END`,
};

async function withSession<T>(
  settings: ConnectionSettings,
  work: (session: SqlServerSession) => Promise<T>,
): Promise<T> {
  const session = await SqlServerSession.open(settings);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

export const sqlServerUnderTest: EngineUnderTest = {
  engine: 'SqlServer',
  ...(MSSQL_URL ? {} : { skipReason: 'MSSQL_URL is not set: no SQL Server on this machine' }),

  async createSchema(label) {
    const url = MSSQL_URL!;
    const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
    await withSession(serverSettings(url), (session) =>
      session.batch(`CREATE DATABASE ${quoteIdentifier(name)}`),
    );
    after(() =>
      withSession(serverSettings(url), (session) =>
        session.batch(
          `ALTER DATABASE ${quoteIdentifier(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteIdentifier(name)}`,
        ),
      ),
    );

    const settings = serverSettings(url, name);
    return {
      settings,
      quote: quoteIdentifier,
      readRows: (table, affiliateId) =>
        withSession(settings, async (session) => {
          const columns = table.columns.map(
            (column, index) =>
              `${canonical[column.type](quoteIdentifier(column.name))} AS [c${index}]`,
          );
          const rows = await session.query(
            `SELECT ${columns.join(', ')} FROM ${qualifiedName('mirror', table.name)}
              WHERE [affiliate_id] = @affiliateId ORDER BY [id] COLLATE Latin1_General_100_BIN2`,
            [{ name: 'affiliateId', type: 'int', value: affiliateId }],
          );
          return rows.map(
            (row) => table.columns.map((_, index) => row[`c${index}`] ?? null) as CanonicalRow,
          );
        }),
      execute: (sql) =>
        withSession(settings, (session) => session.batch(sql).then(() => undefined)),
    };
  },
};
