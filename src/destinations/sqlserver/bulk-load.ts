/**
 * Brings a COPY text stream into the session's temporary table `#incoming`, typed like the
 * mirror table. The rows are parsed as they arrive (copy-text-parser.ts) and streamed with the
 * TDS bulk load API into `#staging`, where every column is nvarchar(max); the server then
 * converts them into `#incoming`. Staging text and converting on the server keeps every value
 * exact: a JavaScript number would round 12345678901234.5678, a Date would drop microseconds.
 */
import type { Readable } from 'node:stream';

import { parseCopyText, type CopyTextRow } from '../../mirror/copy-text-parser.ts';
import { columnNames, type Column, type MirrorTable } from '../../mirror/tables.ts';
import { quoteIdentifier, quoteList } from '../../sql/sqlserver-identifiers.ts';
import type { SqlServerSession } from './connection.ts';
import { columnDefinitions, KEY_COLUMNS } from './ddl.ts';
import { SourceRowsFailure } from '../source-rows-failure.ts';

export const STAGING = '#staging';
export const INCOMING = '#incoming';

export function stagingTableSql(table: MirrorTable): string {
  const columns = table.columns.map(
    (column) => `${quoteIdentifier(column.name)} nvarchar(max) NULL`,
  );
  return `CREATE TABLE ${STAGING} (${columns.join(', ')})`;
}

/** Typed like the mirror table, `id`'s collation included, so joins with it never conflict. */
export function incomingTableSql(table: MirrorTable): string {
  return `CREATE TABLE ${INCOMING} (${columnDefinitions(table)}, PRIMARY KEY (${quoteList(KEY_COLUMNS)}))`;
}

/** The server-side conversion of one staged text column into the column's type. */
export function conversion(column: Column): string {
  const name = quoteIdentifier(column.name);
  switch (column.type) {
    case 'text':
      // Assigned as it is: an id longer than nvarchar(256) fails the insert (never cut short).
      return name;
    case 'integer':
      return `CAST(${name} AS int)`;
    case 'bigint':
      return `CAST(${name} AS bigint)`;
    case 'timestamptz':
      // Style 127: ISO 8601 with a zone (Z or ±hh:mm), the same whatever the session's language.
      return `CONVERT(datetimeoffset(7), ${name}, 127)`;
    case 'money':
      return `CAST(${name} AS decimal(19,4))`;
    case 'boolean':
      // COPY writes booleans as t and f, which CAST to bit does not read.
      return `CASE ${name} WHEN N't' THEN CAST(1 AS bit) WHEN N'f' THEN CAST(0 AS bit) ELSE CAST(${name} AS bit) END`;
  }
}

export function convertStagedSql(table: MirrorTable): string {
  const conversions = table.columns.map(conversion).join(', ');
  return `INSERT INTO ${INCOMING} (${quoteList(columnNames(table))}) SELECT ${conversions} FROM ${STAGING}`;
}

const POSTGRES_INSTANT =
  /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?)(?:(Z)|([+-]\d{2})(?::?(\d{2}))?)$/;

/**
 * PostgreSQL writes a timestamptz as `2017-11-07 01:00:00.123456+00`; SQL Server's ISO 8601
 * form needs the `T` and a `±hh:mm` zone. Only the punctuation changes, never a digit; text
 * of any other shape is passed on for the server to refuse.
 */
export function toIsoInstant(text: string): string {
  const match = POSTGRES_INSTANT.exec(text);
  if (!match) return text;

  const [, date, time, zulu, hours, minutes] = match;
  return `${date}T${time}${zulu ? 'Z' : `${hours}:${minutes ?? '00'}`}`;
}

/**
 * The rows of `rows`, with instants rewritten for SQL Server. Whatever stops the rows (the
 * source stream failing, or text that is not COPY text) is handed to `abort` as it happens.
 */
export async function* rowsForBulkLoad(
  rows: Readable,
  table: MirrorTable,
  abort: (error: unknown) => void,
): AsyncGenerator<CopyTextRow> {
  const instants = table.columns.flatMap((column, index) =>
    column.type === 'timestamptz' ? [index] : [],
  );
  const source = rows[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let sourceFailure: SourceRowsFailure | undefined;
  const watched: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        source.next().catch((error: unknown) => {
          sourceFailure = new SourceRowsFailure(error);
          throw error;
        }),
    }),
  };

  try {
    for await (const row of parseCopyText(watched, table.columns.length)) {
      for (const index of instants) {
        const value = row[index];
        if (value !== null && value !== undefined) row[index] = toIsoInstant(value);
      }
      yield row;
    }
  } catch (error: unknown) {
    abort(sourceFailure ?? error);
    throw error;
  }
}

/**
 * Creates `#staging` and `#incoming`, streams `rows` into the first, converts them into the
 * second, and returns how many rows arrived. A failing source stream surfaces as
 * SourceRowsFailure (and malformed rows as CopyTextFormatError) at once, without waiting for
 * the driver to notice the broken load; the caller then closes the connection.
 */
export async function stageRows(
  session: SqlServerSession,
  table: MirrorTable,
  rows: Readable,
): Promise<number> {
  await session.batch(stagingTableSql(table));
  await session.batch(incomingTableSql(table));

  let abort: (error: unknown) => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  const load = session.bulkLoad(STAGING, columnNames(table), rowsForBulkLoad(rows, table, abort));
  load.catch(() => undefined);
  aborted.catch(() => undefined);

  const staged = await Promise.race([load, aborted]);
  await session.batch(`${convertStagedSql(table)}; DROP TABLE ${STAGING}`);
  return staged;
}
