import type { PoolClient } from 'pg';

import { AppError } from '../../errors.ts';
import { qualifiedName } from '../../sql/postgres-identifiers.ts';
import type { ChangeCursor, ChunkClaim } from '../destination.ts';

/**
 * The mirror's own records in the destination schema, written in the same transaction as the
 * rows they describe: which chunks of which execution are committed, and how far the
 * continuous mirror has got per table. Because they commit with the data, a crash can never
 * leave rows without their record or a record without its rows.
 */
export const CHUNKS_TABLE = '_mirror_chunks';
export const CURSORS_TABLE = '_mirror_cursors';

const UNIQUE_VIOLATION = '23505';

export function bookkeepingDdl(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, CHUNKS_TABLE)} (
       execution_id uuid NOT NULL,
       chunk_index integer NOT NULL,
       worker_id text NOT NULL,
       committed_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (execution_id, chunk_index))`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, CURSORS_TABLE)} (
       affiliate_id integer NOT NULL,
       table_name text NOT NULL,
       cursor_xid numeric(20, 0) NOT NULL,
       cursor_seq bigint NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (affiliate_id, table_name))`,
  ];
}

/**
 * Claims a chunk first thing in its transaction. A second writer of the same chunk waits on the
 * primary key until the first commits and then fails, so no chunk is ever applied twice or by
 * two workers at once.
 */
export async function claimChunk(client: PoolClient, schema: string, mark: ChunkClaim) {
  try {
    await client.query(
      `INSERT INTO ${qualifiedName(schema, CHUNKS_TABLE)} (execution_id, chunk_index, worker_id)
       VALUES ($1, $2, $3)`,
      [mark.executionId, mark.chunkIndex, mark.workerId],
    );
  } catch (error: unknown) {
    if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
    throw new AppError(
      'CHUNK_ALREADY_COMMITTED',
      `chunk ${mark.chunkIndex} of execution ${mark.executionId} is already committed`,
    );
  }
}

export async function committedChunks(client: PoolClient, schema: string, executionId: string) {
  const result = await client.query<{ chunk_index: number }>(
    `SELECT chunk_index FROM ${qualifiedName(schema, CHUNKS_TABLE)} WHERE execution_id = $1`,
    [executionId],
  );
  return new Set(result.rows.map((row) => row.chunk_index));
}

export async function readCursor(
  client: PoolClient,
  schema: string,
  affiliateId: number,
  tableName: string,
  forUpdate = false,
): Promise<ChangeCursor | undefined> {
  const result = await client.query<{ xid: string; seq: string }>(
    `SELECT cursor_xid::text AS xid, cursor_seq::text AS seq
       FROM ${qualifiedName(schema, CURSORS_TABLE)}
      WHERE affiliate_id = $1 AND table_name = $2 ${forUpdate ? 'FOR UPDATE' : ''}`,
    [affiliateId, tableName],
  );
  const row = result.rows[0];
  return row ? { xid: row.xid, seq: row.seq } : undefined;
}

export async function writeCursor(
  client: PoolClient,
  schema: string,
  affiliateId: number,
  tableName: string,
  cursor: ChangeCursor,
) {
  await client.query(
    `INSERT INTO ${qualifiedName(schema, CURSORS_TABLE)} (affiliate_id, table_name, cursor_xid, cursor_seq)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (affiliate_id, table_name)
     DO UPDATE SET cursor_xid = EXCLUDED.cursor_xid, cursor_seq = EXCLUDED.cursor_seq, updated_at = now()`,
    [affiliateId, tableName, cursor.xid, cursor.seq],
  );
}

/** Starts a table's cursor; never moves an existing one (another writer may own it). */
export async function insertCursorIfMissing(
  client: PoolClient,
  schema: string,
  affiliateId: number,
  tableName: string,
  cursor: ChangeCursor,
) {
  await client.query(
    `INSERT INTO ${qualifiedName(schema, CURSORS_TABLE)} (affiliate_id, table_name, cursor_xid, cursor_seq)
     VALUES ($1, $2, $3, $4) ON CONFLICT (affiliate_id, table_name) DO NOTHING`,
    [affiliateId, tableName, cursor.xid, cursor.seq],
  );
}

/**
 * Serialises writers of one affiliate's rows of one table in this schema, until the
 * transaction ends. One connector never writes twice at once, but two connectors of the same
 * affiliate may point at the same database and schema; without this they would collide on
 * the primary key.
 */
export async function lockAffiliateTable(
  client: PoolClient,
  schema: string,
  tableName: string,
  affiliateId: number,
) {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
    `affiliate-mirror write ${schema}.${tableName} ${affiliateId}`,
  ]);
}
