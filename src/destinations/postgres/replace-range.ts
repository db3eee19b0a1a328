import type { PoolClient } from 'pg';

import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import type { ChunkMark, CopyTextStream, ReplaceResult, TimeRange } from '../destination.ts';
import { reconcile } from '../range-checks.ts';
import { claimChunk, lockAffiliateTable } from './bookkeeping.ts';
import { columnDefinitions } from './ddl.ts';
import { copyRows } from './bulk-load.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';

/** Shared by every engine; re-exported for this engine's other modules. */
export { checkRange, reconcile } from '../range-checks.ts';

const INCOMING = quoteIdentifier('affiliate_mirror_range');

/**
 * Replaces the affiliate's rows of `table` with `from <= occurred_at < toExclusive` by `rows`,
 * inside the caller's transaction, so a failed load leaves the old rows. The rows land in a
 * temporary table first: a row whose event time moved at the source still sits at its old
 * time in the mirror, outside the range, and is removed from there before the insert instead
 * of failing it on the primary key. The ends are compared as timestamptz, microseconds kept.
 * With `claimed`, the caller has already claimed the chunk and locked the table.
 */
export async function replaceRange(
  client: PoolClient,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  range: TimeRange,
  rows: CopyTextStream,
  mark: ChunkMark,
  options: { claimed?: boolean } = {},
): Promise<ReplaceResult> {
  const target = qualifiedName(schema, table.name);
  const columns = quoteList(columnNames(table));
  const inRange = `affiliate_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz`;
  const values = [affiliateId, range.from, range.toExclusive];

  if (!options.claimed) {
    await claimChunk(client, schema, mark);
    await lockAffiliateTable(client, schema, table.name, affiliateId);
  }
  await client.query(`CREATE TEMP TABLE ${INCOMING} (${columnDefinitions(table)}) ON COMMIT DROP`);
  await copyRows(client, INCOMING, table, rows);

  const deleted = await client.query(`DELETE FROM ${target} WHERE ${inRange}`, values);
  const moved = await client.query(
    `DELETE FROM ${target} AS target USING ${INCOMING} AS incoming
      WHERE target.affiliate_id = $1 AND incoming.affiliate_id = $1 AND target.id = incoming.id`,
    [affiliateId],
  );
  const inserted = await client.query(
    `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${INCOMING} WHERE affiliate_id = $1`,
    [affiliateId],
  );

  const counted = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${target} WHERE ${inRange}`,
    values,
  );
  const rowsInRange = Number(counted.rows[0]!.n);
  reconcile(
    rowsInRange,
    await mark.sourceRowCount,
    `${table.name} [${range.from}, ${range.toExclusive})`,
  );

  const rowsDeleted = (deleted.rowCount ?? 0) + (moved.rowCount ?? 0);
  return { rowsDeleted, rowsWritten: inserted.rowCount ?? 0, rowsInRange };
}
