import type pg from 'pg';

/** One affiliate's rows of a store table, summed up to compare before and after an import. */
export interface TableSnapshot {
  rows: number;
  /** md5 of every row's text, in id order: equal only when every value is equal. */
  checksum: string | null;
  /** md5 of every row's xmin: changes when any row was rewritten, even to the same values. */
  versions: string | null;
}

/** Takes a snapshot of `table` (a fixed name from the test, not user input). */
export async function snapshotTable(
  pool: pg.Pool,
  table: string,
  affiliateId: number,
): Promise<TableSnapshot> {
  const result = await pool.query<TableSnapshot>(
    `SELECT count(*)::int AS rows,
            md5(string_agg(t::text, E'\\n' ORDER BY t.id)) AS checksum,
            md5(string_agg(t.xmin::text, ',' ORDER BY t.id)) AS versions
       FROM ${table} t
      WHERE t.affiliate_id = $1`,
    [affiliateId],
  );
  return result.rows[0]!;
}
