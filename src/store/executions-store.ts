import type pg from 'pg';

export const executionStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof executionStatuses)[number];

export interface ExecutionRecord {
  id: string;
  connectorId: number;
  affiliateId: number;
  dataType: string;
  windowFrom: string | null;
  windowTo: string | null;
  status: ExecutionStatus;
  chunksTotal: number;
  chunksDone: number;
  rowsRead: number;
  rowsWritten: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Counts of one committed chunk. */
export interface ChunkCounts {
  tableName: string;
  rangeFrom: string | null;
  rangeTo: string | null;
  rowsRead: number;
  rowsWritten: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  durationMs: number;
}

const MICROSECOND_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

const SELECT_EXECUTION = `
  SELECT id, connector_id AS "connectorId", affiliate_id AS "affiliateId", data_type AS "dataType",
         to_char(window_from AT TIME ZONE 'UTC', ${MICROSECOND_ISO}) AS "windowFrom",
         to_char(window_to AT TIME ZONE 'UTC', ${MICROSECOND_ISO}) AS "windowTo",
         status, chunks_total AS "chunksTotal", chunks_done AS "chunksDone",
         rows_read AS "rowsRead", rows_written AS "rowsWritten", rows_inserted AS "rowsInserted",
         rows_updated AS "rowsUpdated", rows_deleted AS "rowsDeleted",
         error_code AS "errorCode", error_message AS "errorMessage",
         created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"
    FROM executions`;

export interface NewExecution {
  id: string;
  connectorId: number;
  affiliateId: number;
  dataType: string;
  windowFrom: string | null;
  windowTo: string | null;
}

export async function insertExecution(db: pg.Pool | pg.PoolClient, execution: NewExecution) {
  await db.query(
    `INSERT INTO executions (id, connector_id, affiliate_id, data_type, window_from, window_to, status)
     VALUES ($1, $2, $3, $4, $5, $6, 'queued')`,
    [
      execution.id,
      execution.connectorId,
      execution.affiliateId,
      execution.dataType,
      execution.windowFrom,
      execution.windowTo,
    ],
  );
}

export async function getExecution(pool: pg.Pool, id: string) {
  const result = await pool.query<ExecutionRecord>(`${SELECT_EXECUTION} WHERE id = $1`, [id]);
  return result.rows[0];
}

export async function listExecutions(pool: pg.Pool, connectorId: number, limit: number) {
  const result = await pool.query<ExecutionRecord>(
    `${SELECT_EXECUTION} WHERE connector_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
    [connectorId, limit],
  );
  return result.rows;
}

/**
 * Moves a queued (or interrupted running) execution to running. Returns false when it has
 * already ended, so a redelivered job never runs a finished execution again.
 */
export async function startExecution(pool: pg.Pool, id: string, chunksTotal: number) {
  const result = await pool.query(
    `UPDATE executions SET status = 'running', chunks_total = $2,
            started_at = coalesce(started_at, now()), updated_at = now()
      WHERE id = $1 AND status IN ('queued', 'running')`,
    [id, chunksTotal],
  );
  return result.rowCount === 1;
}

/** Indexes of the chunks already committed, so a resumed execution skips them. */
export async function committedChunks(pool: pg.Pool, id: string): Promise<Set<number>> {
  const result = await pool.query<{ chunk_index: number }>(
    'SELECT chunk_index FROM execution_chunks WHERE execution_id = $1',
    [id],
  );
  return new Set(result.rows.map((row) => row.chunk_index));
}

/**
 * Records a committed chunk and adds its counts to the execution, in one transaction; a chunk
 * recorded twice (a replay after a crash) is counted once.
 */
export async function recordChunk(pool: pg.Pool, id: string, index: number, counts: ChunkCounts) {
  await pool.query(
    `WITH chunk AS (
       INSERT INTO execution_chunks (execution_id, chunk_index, table_name, range_from, range_to,
              rows_read, rows_written, rows_inserted, rows_updated, rows_deleted, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (execution_id, chunk_index) DO NOTHING
       RETURNING *
     )
     UPDATE executions e SET chunks_done = e.chunks_done + 1,
            rows_read = e.rows_read + c.rows_read, rows_written = e.rows_written + c.rows_written,
            rows_inserted = e.rows_inserted + c.rows_inserted,
            rows_updated = e.rows_updated + c.rows_updated,
            rows_deleted = e.rows_deleted + c.rows_deleted, updated_at = now()
       FROM chunk c WHERE e.id = c.execution_id`,
    [
      id,
      index,
      counts.tableName,
      counts.rangeFrom,
      counts.rangeTo,
      counts.rowsRead,
      counts.rowsWritten,
      counts.rowsInserted,
      counts.rowsUpdated,
      counts.rowsDeleted,
      counts.durationMs,
    ],
  );
}

export async function finishExecution(
  pool: pg.Pool,
  id: string,
  outcome: { status: 'succeeded' } | { status: 'failed'; errorCode: string; errorMessage: string },
) {
  await pool.query(
    `UPDATE executions SET status = $2, error_code = $3, error_message = $4,
            finished_at = now(), updated_at = now()
      WHERE id = $1 AND status IN ('queued', 'running')`,
    [
      id,
      outcome.status,
      outcome.status === 'failed' ? outcome.errorCode : null,
      outcome.status === 'failed' ? outcome.errorMessage : null,
    ],
  );
}
