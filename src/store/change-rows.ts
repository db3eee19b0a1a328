import type pg from 'pg';

import type { ChangeCursor } from '../destinations/destination.ts';
import { columnNames, type MirrorTable } from '../mirror/tables.ts';
import { quoteIdentifier, quoteList } from '../sql/postgres-identifiers.ts';
import { checkedAffiliateId, copyOut, type SourceRows } from './source-rows.ts';

/**
 * The platform store's change stream, read by the continuous mirror: rows whose last write is
 * after a cursor, and deletions, in (change_xid, change_seq) order. Only changes of
 * transactions older than the horizon are read; see migration 002 for why that is safe.
 */

const DIGITS = /^\d{1,20}$/;

function checkedCursor(cursor: ChangeCursor): ChangeCursor {
  if (!DIGITS.test(cursor.xid) || !DIGITS.test(cursor.seq)) {
    throw new Error(`${JSON.stringify(cursor)} is not a change cursor`);
  }
  return cursor;
}

/** The oldest transaction still running: every change below it is committed or gone. */
export async function changeHorizon(pool: pg.Pool): Promise<string> {
  const result = await pool.query<{ horizon: string }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon',
  );
  return result.rows[0]!.horizon;
}

/**
 * Where a batch of at most `limit` changes (rows and deletions together) after `from` ends, or
 * undefined when there are none below the horizon.
 */
export async function nextBatchEnd(
  pool: pg.Pool,
  table: MirrorTable,
  affiliateId: number,
  from: ChangeCursor,
  horizon: string,
  limit: number,
): Promise<ChangeCursor | undefined> {
  const after = `(change_xid, change_seq) > ($2::xid8, $3::bigint) AND change_xid < $4::xid8`;
  const result = await pool.query<ChangeCursor>(
    `SELECT change_xid::text AS xid, change_seq::text AS seq FROM (
       (SELECT change_xid, change_seq FROM ${quoteIdentifier(table.name)}
         WHERE affiliate_id = $1 AND ${after} ORDER BY change_xid, change_seq LIMIT $5)
       UNION ALL
       (SELECT change_xid, change_seq FROM deleted_rows
         WHERE table_name = $6 AND affiliate_id = $1 AND ${after}
         ORDER BY change_xid, change_seq LIMIT $5)
       ORDER BY change_xid, change_seq LIMIT $5
     ) batch ORDER BY change_xid DESC, change_seq DESC LIMIT 1`,
    [affiliateId, from.xid, from.seq, horizon, limit, table.name],
  );
  return result.rows[0];
}

function between(from: ChangeCursor, to: ChangeCursor): string {
  const a = checkedCursor(from);
  const b = checkedCursor(to);
  return `(change_xid, change_seq) > ('${a.xid}'::xid8, ${a.seq})
      AND (change_xid, change_seq) <= ('${b.xid}'::xid8, ${b.seq})`;
}

/** Current versions of the rows changed in (from, to], as COPY text in catalogue order. */
export function readChangedRows(
  pool: pg.Pool,
  table: MirrorTable,
  affiliateId: number,
  from: ChangeCursor,
  to: ChangeCursor,
): Promise<SourceRows> {
  const query = `COPY (SELECT ${quoteList(columnNames(table))} FROM ${quoteIdentifier(table.name)}
     WHERE affiliate_id = ${checkedAffiliateId(affiliateId)} AND ${between(from, to)}) TO STDOUT`;
  return copyOut(pool, query);
}

/** Rows deleted in (from, to], with the change that deleted them. */
export async function readDeletions(
  pool: pg.Pool,
  table: MirrorTable,
  affiliateId: number,
  from: ChangeCursor,
  to: ChangeCursor,
) {
  // A row deleted and inserted again by one statement has its deletion recorded after the
  // insert; the row exists, so that deletion is not applied (the row's version is).
  const result = await pool.query<{ id: string; changeSeq: string }>(
    `SELECT d.id, d.change_seq::text AS "changeSeq" FROM deleted_rows d
      WHERE d.table_name = $1 AND d.affiliate_id = $2 AND ${between(from, to)}
        AND NOT EXISTS (SELECT 1 FROM ${quoteIdentifier(table.name)} t
                         WHERE t.affiliate_id = d.affiliate_id AND t.id = d.id)`,
    [table.name, affiliateId],
  );
  return result.rows;
}
