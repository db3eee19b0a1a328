import type { PoolClient } from 'pg';

import { AppError } from '../../errors.ts';
import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';
import { START_OF_CHANGES, type ApplyResult, type ChangeBatch } from '../destination.ts';
import {
  insertCursorIfMissing,
  lockAffiliateTable,
  readCursor,
  writeCursor,
} from './bookkeeping.ts';
import { copyRows } from './bulk-load.ts';
import { columnDefinitions } from './ddl.ts';

const KEY_COLUMNS = ['affiliate_id', 'id'];
const INCOMING = quoteIdentifier('affiliate_mirror_changes');

function sameCursor(a: { xid: string; seq: string }, b: { xid: string; seq: string }) {
  return BigInt(a.xid) === BigInt(b.xid) && BigInt(a.seq) === BigInt(b.seq);
}

/**
 * Only a newer version replaces a mirror row: `change_seq` grows with every write of a row at
 * the source, so an old version that arrives late (a retry, an overlapping reload) is ignored.
 */
function upsertNewerSql(target: string, table: MirrorTable): string {
  const columns = quoteList(columnNames(table));
  const valueColumns = columnNames(table).filter((name) => !KEY_COLUMNS.includes(name));

  return `INSERT INTO ${target} AS target (${columns})
    SELECT ${columns} FROM ${INCOMING} WHERE affiliate_id = $1
    ON CONFLICT (${quoteList(KEY_COLUMNS)})
    DO UPDATE SET (${quoteList(valueColumns)}) = ROW(${quoteList(valueColumns, 'EXCLUDED.')})
    WHERE target.change_seq < EXCLUDED.change_seq`;
}

function deleteOlderSql(target: string): string {
  return `DELETE FROM ${target} AS target
    USING unnest($2::text[], $3::bigint[]) AS deleted (id, change_seq)
    WHERE target.affiliate_id = $1 AND target.id = deleted.id
      AND target.change_seq < deleted.change_seq`;
}

/**
 * Applies one batch of changes inside the caller's transaction and moves the cursor with it.
 * The cursor row is locked first: a second writer waits, then finds the cursor moved and
 * gives up instead of applying the same changes again.
 */
export async function applyChanges(
  client: PoolClient,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  batch: ChangeBatch,
): Promise<ApplyResult> {
  const target = qualifiedName(schema, table.name);

  await lockAffiliateTable(client, schema, table.name, affiliateId);
  // Only a table's first batch starts its cursor. A batch from further on whose cursor is gone
  // was read before ensureTables marked the table for a backfill: it must not bring the old
  // cursor back, or the rows before it would never be rewritten.
  if (sameCursor(batch.from, START_OF_CHANGES)) {
    await insertCursorIfMissing(client, schema, affiliateId, table.name, batch.from);
  }
  const current = await readCursor(client, schema, affiliateId, table.name, true);
  if (!current || !sameCursor(current, batch.from)) {
    throw new AppError(
      'SYNC_CURSOR_MOVED',
      `the ${table.name} cursor is at ${JSON.stringify(current)}, not ${JSON.stringify(batch.from)}`,
    );
  }

  await client.query(`CREATE TEMP TABLE ${INCOMING} (${columnDefinitions(table)}) ON COMMIT DROP`);
  const rowsRead = await copyRows(client, INCOMING, table, batch.rows);
  const upserted = await client.query(upsertNewerSql(target, table), [affiliateId]);

  const ids = batch.deletions.map((deletion) => deletion.id);
  const seqs = batch.deletions.map((deletion) => deletion.changeSeq);
  const deleted =
    ids.length > 0
      ? await client.query(deleteOlderSql(target), [affiliateId, ids, seqs])
      : undefined;

  await writeCursor(client, schema, affiliateId, table.name, batch.to);
  return { rowsRead, rowsWritten: upserted.rowCount ?? 0, rowsDeleted: deleted?.rowCount ?? 0 };
}
