import type { PoolClient } from 'pg';

import { AppError } from '../../errors.ts';
import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import type { ChunkMark, CopyTextStream, ReplaceResult, TimeRange } from '../destination.ts';
import { claimChunk, lockAffiliateTable } from './bookkeeping.ts';
import { columnDefinitions } from './ddl.ts';
import { copyRows } from './copy-rows.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';

/**
 * A UTC instant with an explicit zone. A bare date or a time without a zone would be read in
 * the session's time zone and move the window by hours without anyone noticing.
 */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** Refuses ranges that cannot be read exactly, before anything is deleted. */
export function checkRange(range: TimeRange): void {
  for (const field of ['from', 'toExclusive'] as const) {
    if (!INSTANT.test(range[field])) {
      throw AppError.invalidField(
        'VALIDATION_FAILED',
        `range.${field}`,
        `"${range[field]}" is not an instant like 2017-11-07T00:00:00.000000Z`,
      );
    }
  }

  if (Date.parse(range.from) > Date.parse(range.toExclusive)) {
    throw AppError.invalidField('VALIDATION_FAILED', 'range', 'from is after toExclusive');
  }
}

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

/**
 * The last check before commit: the destination holds exactly as many rows as the source
 * sent. A mismatch rolls the chunk back and fails the execution; it never ends "succeeded".
 */
export function reconcile(held: number, sent: number, what: string): void {
  if (held === sent) return;
  throw new AppError(
    'RECONCILIATION_FAILED',
    `${what}: the source sent ${sent} rows but the destination holds ${held}; nothing was committed.`,
  );
}
