import pg from 'pg';

import { columnNames, type MirrorTable } from '../../src/mirror/tables.ts';

export interface Fingerprint {
  rows: number;
  checksum: string;
}

/**
 * Row count and an md5 over every column of every row, ordered by id, computed by the database
 * itself in UTC. The same query on source and destination gives the same answer exactly when
 * both hold the same rows with the same values.
 */
export async function fingerprint(
  url: string,
  table: MirrorTable,
  options: { schema?: string; affiliateId: number; from?: string; toExclusive?: string },
): Promise<Fingerprint> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await client.connect();

  try {
    const qualified = options.schema ? `"${options.schema}"."${table.name}"` : `"${table.name}"`;
    const range = options.from ? 'AND occurred_at >= $2 AND occurred_at < $3' : '';
    const values = options.from
      ? [options.affiliateId, options.from, options.toExclusive]
      : [options.affiliateId];
    const result = await client.query<{ rows: number; checksum: string }>(
      `SELECT count(*)::int AS rows,
              coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.id)), '') AS checksum
         FROM (SELECT ${columnNames(table).join(', ')} FROM ${qualified}
                WHERE affiliate_id = $1 ${range}) t`,
      values,
    );
    return result.rows[0]!;
  } finally {
    await client.end();
  }
}
