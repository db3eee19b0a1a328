import type { PoolClient } from 'pg';

import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import type { ChunkMark, CopyTextStream, MergeResult } from '../destination.ts';
import { claimChunk } from './bookkeeping.ts';
import { copyRows } from './bulk-load.ts';
import { reconcile } from './replace-range.ts';
import { columnDefinitions } from './ddl.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';

const KEY_COLUMNS = ['affiliate_id', 'id'];

/** Where the incoming rows wait; private to the session and gone at the end of the transaction. */
const INCOMING = quoteIdentifier('affiliate_mirror_incoming');

/**
 * Insert what is new, update what changed, leave equal rows untouched (so they count as
 * neither), and count both kinds on the server: `xmax = 0` only on freshly inserted rows.
 */
function upsertSql(target: string, table: MirrorTable): string {
  const columns = quoteList(columnNames(table));
  const valueColumns = columnNames(table).filter((name) => !KEY_COLUMNS.includes(name));

  const onConflict =
    valueColumns.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET (${quoteList(valueColumns)}) = ROW(${quoteList(valueColumns, 'EXCLUDED.')})
         WHERE (${quoteList(valueColumns, 'target.')})
           IS DISTINCT FROM (${quoteList(valueColumns, 'EXCLUDED.')})`;

  return `WITH upserted AS (
      INSERT INTO ${target} AS target (${columns})
      SELECT ${columns} FROM ${INCOMING} WHERE affiliate_id = $1
      ON CONFLICT (${quoteList(KEY_COLUMNS)}) ${onConflict}
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
           count(*) FILTER (WHERE NOT inserted)::int AS updated
      FROM upserted`;
}

function deleteMissingSql(target: string): string {
  return `DELETE FROM ${target} AS target
    WHERE target.affiliate_id = $1
      AND NOT EXISTS (
        SELECT 1 FROM ${INCOMING} incoming
         WHERE incoming.affiliate_id = $1 AND incoming.id = target.id
      )`;
}

/**
 * Makes the affiliate's rows of a dimension table equal to `rows`: upserts every row and
 * deletes the rows that are no longer there. Runs inside the caller's transaction.
 */
export async function mergeDimension(
  client: PoolClient,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  rows: CopyTextStream,
  mark: ChunkMark,
): Promise<MergeResult> {
  const target = qualifiedName(schema, table.name);
  await claimChunk(client, schema, mark);

  // Self-conflicting but open to readers: two merges of one table take turns instead of
  // deadlocking on each other's rows, and customers can keep querying meanwhile.
  await client.query(`LOCK TABLE ${target} IN SHARE ROW EXCLUSIVE MODE`);

  await client.query(`CREATE TEMP TABLE ${INCOMING} (${columnDefinitions(table)}) ON COMMIT DROP`);
  const rowsWritten = await copyRows(client, INCOMING, table, rows);
  // Temporary tables are never analysed automatically; without statistics the planner
  // guesses and can pick a nested loop over a large dimension.
  await client.query(`ANALYZE ${INCOMING}`);

  const upserted = await client.query<{ inserted: number; updated: number }>(
    upsertSql(target, table),
    [affiliateId],
  );
  const deleted = await client.query(deleteMissingSql(target), [affiliateId]);

  const held = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${target} WHERE affiliate_id = $1`,
    [affiliateId],
  );
  reconcile(Number(held.rows[0]!.n), await mark.sourceRowCount, table.name);

  const counts = upserted.rows[0] ?? { inserted: 0, updated: 0 };
  return { rowsWritten, ...counts, deleted: deleted.rowCount ?? 0 };
}
