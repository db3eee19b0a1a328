import type pg from 'pg';

import type { TimeRange } from '../destinations/destination.ts';

export const executionStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof executionStatuses)[number];

export interface ExecutionRecord {
  id: string;
  connectorId: number;
  affiliateId: number;
  dataType: string;
  windowFrom: string | null;
  windowTo: string | null;
  /** The zone date-only window ends were read in; null for dimensions. */
  timeZone: string | null;
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
  currentChunk: string | null;
  workerId: string | null;
  attempts: number;
  cancelRequestedAt: Date | null;
  heartbeatAt: Date | null;
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
  workerId: string;
}

const MICROSECOND_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

const SELECT_EXECUTION = `
  SELECT id, connector_id AS "connectorId", affiliate_id AS "affiliateId", data_type AS "dataType",
         to_char(window_from AT TIME ZONE 'UTC', ${MICROSECOND_ISO}) AS "windowFrom",
         to_char(window_to AT TIME ZONE 'UTC', ${MICROSECOND_ISO}) AS "windowTo",
         time_zone AS "timeZone",
         status, chunks_total AS "chunksTotal", chunks_done AS "chunksDone",
         rows_read AS "rowsRead", rows_written AS "rowsWritten", rows_inserted AS "rowsInserted",
         rows_updated AS "rowsUpdated", rows_deleted AS "rowsDeleted",
         error_code AS "errorCode", error_message AS "errorMessage",
         current_chunk AS "currentChunk", worker_id AS "workerId", attempts,
         cancel_requested_at AS "cancelRequestedAt", heartbeat_at AS "heartbeatAt",
         created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"
    FROM executions`;

export interface NewExecution {
  id: string;
  connectorId: number;
  affiliateId: number;
  dataType: string;
  windowFrom: string | null;
  windowTo: string | null;
  timeZone: string | null;
}

export async function insertExecution(db: pg.Pool | pg.PoolClient, execution: NewExecution) {
  await db.query(
    `INSERT INTO executions (id, connector_id, affiliate_id, data_type, window_from, window_to,
                             time_zone, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued')`,
    [
      execution.id,
      execution.connectorId,
      execution.affiliateId,
      execution.dataType,
      execution.windowFrom,
      execution.windowTo,
      execution.timeZone,
    ],
  );
}

/** The execution a connector's Idempotency-Key was answered with, and its request's hash. */
export async function findByIdempotencyKey(db: pg.PoolClient, connectorId: number, key: string) {
  const result = await db.query<{ id: string; requestHash: string }>(
    `SELECT execution_id AS id, request_hash AS "requestHash" FROM idempotency_keys
      WHERE connector_id = $1 AND key = $2`,
    [connectorId, key],
  );
  return result.rows[0];
}

export async function rememberIdempotencyKey(
  db: pg.PoolClient,
  entry: { connectorId: number; key: string; requestHash: string; executionId: string },
) {
  await db.query(
    `INSERT INTO idempotency_keys (connector_id, key, request_hash, execution_id)
     VALUES ($1, $2, $3, $4)`,
    [entry.connectorId, entry.key, entry.requestHash, entry.executionId],
  );
}

/** A queued or running execution doing exactly this reload, not being cancelled. */
export async function findActiveIdentical(
  db: pg.PoolClient,
  connectorId: number,
  reload: { dataType: string; windowFrom: string | null; windowTo: string | null },
) {
  const result = await db.query<{ id: string }>(
    `SELECT id FROM executions
      WHERE connector_id = $1 AND data_type = $2 AND status IN ('queued', 'running')
        AND cancel_requested_at IS NULL
        AND window_from IS NOT DISTINCT FROM $3::timestamptz
        AND window_to IS NOT DISTINCT FROM $4::timestamptz
      ORDER BY created_at LIMIT 1`,
    [connectorId, reload.dataType, reload.windowFrom, reload.windowTo],
  );
  return result.rows[0]?.id;
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

export async function listActiveExecutions(pool: pg.Pool, connectorId: number) {
  const result = await pool.query<ExecutionRecord>(
    `${SELECT_EXECUTION} WHERE connector_id = $1 AND status IN ('queued', 'running')
      ORDER BY created_at`,
    [connectorId],
  );
  return result.rows;
}

/**
 * Moves a queued (or interrupted running) execution to running under this worker. Returns
 * false when it has ended meanwhile (finished, cancelled), so it is never run again.
 */
export async function startExecution(
  pool: pg.Pool,
  id: string,
  workerId: string,
  chunksTotal: number,
) {
  const result = await pool.query(
    `UPDATE executions SET status = 'running', chunks_total = $2, worker_id = $3,
            heartbeat_at = now(), attempts = attempts + 1,
            started_at = coalesce(started_at, now()), updated_at = now()
      WHERE id = $1 AND status IN ('queued', 'running')`,
    [id, chunksTotal, workerId],
  );
  return result.rowCount === 1;
}

/**
 * A worker took the queued execution's job: from now on the execution is this worker's, and
 * it beats for it while it waits for the connector and prepares the mirror tables, before the
 * execution starts. So a worker that dies in that time leaves a queued execution whose
 * heartbeat stops, which the reaper queues again, instead of one whose job (taken, never
 * finished) would only expire a day later. False when another worker has it.
 */
export async function claimQueued(pool: pg.Pool, id: string, workerId: string) {
  const result = await pool.query(
    `UPDATE executions SET worker_id = $2, heartbeat_at = now(), updated_at = now()
      WHERE id = $1 AND status = 'queued' AND (worker_id IS NULL OR worker_id = $2)`,
    [id, workerId],
  );
  return result.rowCount === 1;
}

/** Gives a claimed, still queued execution up again, as if never taken: its job is queued anew. */
export async function releaseClaim(pool: pg.Pool, id: string, workerId: string) {
  await pool.query(
    `UPDATE executions SET worker_id = NULL, heartbeat_at = NULL, updated_at = now()
      WHERE id = $1 AND worker_id = $2 AND status = 'queued'`,
    [id, workerId],
  );
}

/** Proof of life, every few seconds while an execution is ours; false once it is not. */
export async function beat(pool: pg.Pool, id: string, workerId: string, currentChunk?: string) {
  const result = await pool.query(
    `UPDATE executions SET heartbeat_at = now(), current_chunk = coalesce($3, current_chunk)
      WHERE id = $1 AND worker_id = $2 AND status IN ('queued', 'running')`,
    [id, workerId, currentChunk ?? null],
  );
  return result.rowCount === 1;
}

export async function isCancelRequested(pool: pg.Pool, id: string): Promise<boolean> {
  const result = await pool.query<{ requested: boolean }>(
    `SELECT cancel_requested_at IS NOT NULL OR status = 'cancelled' AS requested
       FROM executions WHERE id = $1`,
    [id],
  );
  return result.rows[0]?.requested ?? true;
}

/**
 * Asks executions to stop: one (by id), or all of a connector's (deleted or disabled). A queued
 * one is cancelled at once; a running one stops at its next chunk boundary. Returns the
 * executions concerned with the status each had.
 */
export async function requestCancel(
  pool: pg.Pool,
  which: { executionId: string } | { connectorId: number },
) {
  const [column, value] =
    'executionId' in which ? ['id', which.executionId] : ['connector_id', which.connectorId];
  const result = await pool.query<{ id: string; status: ExecutionStatus }>(
    `WITH target AS (
       SELECT id, status FROM executions
        WHERE ${column} = $1 AND status IN ('queued', 'running') FOR UPDATE
     )
     UPDATE executions e SET
            cancel_requested_at = coalesce(e.cancel_requested_at, now()),
            status = CASE WHEN e.status = 'queued' THEN 'cancelled' ELSE e.status END,
            finished_at = CASE WHEN e.status = 'queued' THEN now() ELSE e.finished_at END,
            updated_at = now()
       FROM target WHERE e.id = target.id
     RETURNING e.id, target.status`,
    [value],
  );
  return result.rows;
}

/** A worker that stops gives its execution up: the next reaper resumes it without waiting. */
export async function handBack(pool: pg.Pool, id: string, workerId: string) {
  await pool.query(
    `UPDATE executions SET worker_id = NULL, heartbeat_at = 'epoch', current_chunk = NULL
      WHERE id = $1 AND worker_id = $2 AND status IN ('queued', 'running')`,
    [id, workerId],
  );
}

/**
 * Executions whose worker stopped beating, running or claimed while queued: it died or lost
 * the store. Each one found is marked as taken over (no worker; a running one gets a fresh
 * heartbeat, a queued one none, like one never taken) in the same statement, so that two
 * reapers never both restart it.
 */
export async function takeOverStale(pool: pg.Pool, staleAfterSeconds: number) {
  const result = await pool.query<{ id: string; connectorId: number; workerId: string | null }>(
    `WITH stale AS (
       SELECT id, worker_id FROM executions
        WHERE status IN ('queued', 'running')
          AND heartbeat_at < now() - make_interval(secs => $1)
        FOR UPDATE SKIP LOCKED
     )
     UPDATE executions e
        SET heartbeat_at = CASE WHEN e.status = 'running' THEN now() END, worker_id = NULL
       FROM stale WHERE e.id = stale.id
     RETURNING e.id, e.connector_id AS "connectorId", stale.worker_id AS "workerId"`,
    [staleAfterSeconds],
  );
  return result.rows;
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
              rows_read, rows_written, rows_inserted, rows_updated, rows_deleted, duration_ms,
              worker_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
      counts.workerId,
    ],
  );
}

export type ExecutionOutcome =
  | { status: 'succeeded' | 'cancelled' }
  | { status: 'failed'; errorCode: string; errorMessage: string };

export async function finishExecution(pool: pg.Pool, id: string, outcome: ExecutionOutcome) {
  await pool.query(
    `UPDATE executions SET status = $2, error_code = $3, error_message = $4,
            finished_at = now(), updated_at = now(), current_chunk = NULL
      WHERE id = $1 AND status IN ('queued', 'running')`,
    [
      id,
      outcome.status,
      outcome.status === 'failed' ? outcome.errorCode : null,
      outcome.status === 'failed' ? outcome.errorMessage : null,
    ],
  );
}

/**
 * Fixes an execution's chunk ranges the first time it starts and returns the plan in force:
 * the one saved earlier if there is one, so a resumed execution keeps its chunk indexes.
 */
export async function fixChunkPlan(pool: pg.Pool, id: string, plan: TimeRange[]) {
  await pool.query('UPDATE executions SET chunk_plan = $2 WHERE id = $1 AND chunk_plan IS NULL', [
    id,
    JSON.stringify(plan),
  ]);
  const result = await pool.query<{ plan: TimeRange[] }>(
    'SELECT chunk_plan AS plan FROM executions WHERE id = $1',
    [id],
  );
  return result.rows[0]!.plan;
}

export async function savedChunkPlan(pool: pg.Pool, id: string) {
  const result = await pool.query<{ plan: TimeRange[] | null }>(
    'SELECT chunk_plan AS plan FROM executions WHERE id = $1',
    [id],
  );
  return result.rows[0]?.plan ?? undefined;
}
