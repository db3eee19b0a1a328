/**
 * replaceRange for SQL Server: the affiliate's rows of an event table in a time range are
 * replaced by the source's rows, in one transaction, with the chunk recorded in it.
 */
import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteList } from '../../sql/sqlserver-identifiers.ts';
import type { ChunkMark, CopyTextStream, ReplaceResult, TimeRange } from '../destination.ts';
import { reconcile } from '../range-checks.ts';
import { claimChunk, lockAffiliateTable } from './bookkeeping.ts';
import { INCOMING, stageRows } from './bulk-load.ts';
import type { Parameter, SqlServerSession } from './connection.ts';

/** The range's ends arrive as checked ISO 8601 instants and are compared as datetimeoffset(7). */
const IN_RANGE = `[affiliate_id] = @affiliateId
  AND [occurred_at] >= CONVERT(datetimeoffset(7), @from, 127)
  AND [occurred_at] < CONVERT(datetimeoffset(7), @toExclusive, 127)`;

export interface ReplaceStatements {
  deleteRange: string;
  deleteMoved: string;
  insert: string;
  countRange: string;
}

export function replaceRangeStatements(schema: string, table: MirrorTable): ReplaceStatements {
  const target = qualifiedName(schema, table.name);
  const columns = quoteList(columnNames(table));

  return {
    deleteRange: `DELETE FROM ${target} WHERE ${IN_RANGE}`,
    deleteMoved: `DELETE target FROM ${target} AS target
JOIN ${INCOMING} AS incoming ON incoming.[affiliate_id] = target.[affiliate_id] AND incoming.[id] = target.[id]
WHERE target.[affiliate_id] = @affiliateId`,
    insert: `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${INCOMING} WHERE [affiliate_id] = @affiliateId`,
    countRange: `SELECT COUNT_BIG(*) AS [n] FROM ${target} WHERE ${IN_RANGE}`,
  };
}

/**
 * Replaces the affiliate's rows with `from <= occurred_at < toExclusive` by `rows`, inside the
 * caller's transaction. The rows are staged first (no lock is held while the source streams),
 * then the chunk is claimed and the affiliate's rows of the table locked. A row whose event
 * time moved at the source still sits at its old time, outside the range: it is removed from
 * there before the insert instead of failing it on the primary key.
 */
export async function replaceRange(
  session: SqlServerSession,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  range: TimeRange,
  rows: CopyTextStream,
  mark: ChunkMark,
): Promise<ReplaceResult> {
  const statements = replaceRangeStatements(schema, table);
  const affiliate: Parameter = { name: 'affiliateId', type: 'int', value: affiliateId };
  const inRange: Parameter[] = [
    affiliate,
    { name: 'from', type: 'nvarchar', value: range.from },
    { name: 'toExclusive', type: 'nvarchar', value: range.toExclusive },
  ];

  await stageRows(session, table, rows);
  await claimChunk(session, schema, mark);
  await lockAffiliateTable(session, schema, table.name, affiliateId);

  const deleted = await session.affected(statements.deleteRange, inRange);
  const moved = await session.affected(statements.deleteMoved, [affiliate]);
  const rowsWritten = await session.affected(statements.insert, [affiliate]);

  const counted = await session.query(statements.countRange, inRange);
  const rowsInRange = Number(counted[0]?.n ?? 0);
  reconcile(
    rowsInRange,
    await mark.sourceRowCount,
    `${table.name} [${range.from}, ${range.toExclusive})`,
  );

  return { rowsDeleted: deleted + moved, rowsWritten, rowsInRange };
}
