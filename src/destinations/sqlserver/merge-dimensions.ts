/**
 * mergeDimension for SQL Server: makes the affiliate's rows of a dimension table equal to the
 * source's, counting inserts, updates and deletes. No MERGE statement: it has a long record of
 * deadlocks and wrong results under concurrent writers, so this is UPDATE, INSERT and DELETE,
 * each counted with @@ROWCOUNT, under the affiliate's write lock.
 */
import type { Column, MirrorTable } from '../../mirror/tables.ts';
import { columnNames } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/sqlserver-identifiers.ts';
import type { ChunkMark, CopyTextStream, MergeResult } from '../destination.ts';
import { reconcile } from '../range-checks.ts';
import { claimChunk, lockAffiliateTable } from './bookkeeping.ts';
import { INCOMING, stageRows } from './bulk-load.ts';
import type { Parameter, SqlServerSession } from './connection.ts';
import { KEY_COLUMNS } from './ddl.ts';

export const SAME_KEY =
  'incoming.[affiliate_id] = target.[affiliate_id] AND incoming.[id] = target.[id]';

/**
 * True when the mirror's value differs from the incoming one, NULLs included. Text is compared
 * as its UTF-16 bytes: the database's collation may call `Foo` and `foo`, or `a` and `a `,
 * equal, and the mirror would then keep the old spelling.
 */
export function differs(column: Column): string {
  const name = quoteIdentifier(column.name);
  const [mirror, incoming] =
    column.type === 'text'
      ? [`CAST(target.${name} AS varbinary(max))`, `CAST(incoming.${name} AS varbinary(max))`]
      : [`target.${name}`, `incoming.${name}`];
  return `(${mirror} <> ${incoming} OR (target.${name} IS NULL AND incoming.${name} IS NOT NULL) OR (target.${name} IS NOT NULL AND incoming.${name} IS NULL))`;
}

export function valueColumns(table: MirrorTable): Column[] {
  return table.columns.filter((column) => !KEY_COLUMNS.includes(column.name));
}

export function setValuesSql(table: MirrorTable): string {
  return valueColumns(table)
    .map((column) => `${quoteIdentifier(column.name)} = incoming.${quoteIdentifier(column.name)}`)
    .join(', ');
}

export interface MergeStatements {
  update: string | undefined;
  insert: string;
  delete: string;
  count: string;
}

export function mergeStatements(schema: string, table: MirrorTable): MergeStatements {
  const target = qualifiedName(schema, table.name);
  const columns = quoteList(columnNames(table));
  const changed = valueColumns(table).map(differs).join(' OR ');

  return {
    update:
      valueColumns(table).length === 0
        ? undefined
        : `UPDATE target SET ${setValuesSql(table)}
FROM ${target} AS target JOIN ${INCOMING} AS incoming ON ${SAME_KEY}
WHERE target.[affiliate_id] = @affiliateId AND (${changed})`,
    insert: `INSERT INTO ${target} (${columns})
SELECT ${quoteList(columnNames(table), 'incoming.')} FROM ${INCOMING} AS incoming
WHERE incoming.[affiliate_id] = @affiliateId
  AND NOT EXISTS (SELECT 1 FROM ${target} AS target WHERE ${SAME_KEY})`,
    delete: `DELETE target FROM ${target} AS target
WHERE target.[affiliate_id] = @affiliateId
  AND NOT EXISTS (SELECT 1 FROM ${INCOMING} AS incoming WHERE ${SAME_KEY})`,
    count: `SELECT COUNT_BIG(*) AS [n] FROM ${target} WHERE [affiliate_id] = @affiliateId`,
  };
}

/**
 * Makes the affiliate's rows of a dimension table equal to `rows`, inside the caller's
 * transaction: rows that changed are updated, new ones inserted, missing ones deleted; equal
 * rows are left alone and count as neither.
 */
export async function mergeDimension(
  session: SqlServerSession,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  rows: CopyTextStream,
  mark: ChunkMark,
): Promise<MergeResult> {
  const statements = mergeStatements(schema, table);
  const affiliate: Parameter[] = [{ name: 'affiliateId', type: 'int', value: affiliateId }];

  const rowsWritten = await stageRows(session, table, rows);
  await claimChunk(session, schema, mark);
  await lockAffiliateTable(session, schema, table.name, affiliateId);

  const updated = statements.update ? await session.affected(statements.update, affiliate) : 0;
  const inserted = await session.affected(statements.insert, affiliate);
  const deleted = await session.affected(statements.delete, affiliate);

  const held = await session.query(statements.count, affiliate);
  reconcile(Number(held[0]?.n ?? 0), await mark.sourceRowCount, table.name);

  return { rowsWritten, inserted, updated, deleted };
}
