import type pg from 'pg';

import type { ChangeCursor } from '../destinations/destination.ts';

export interface SyncState {
  tableName: string;
  cursorSeq: string;
  lastSyncedAt: Date | null;
  caughtUpAt: Date | null;
  consecutiveFailures: number;
  lastErrorCode: string | null;
  lastError: string | null;
}

/** A batch reached the destination; `caughtUp` when nothing older than the horizon is left. */
export async function recordSyncProgress(
  pool: pg.Pool,
  connectorId: number,
  tableName: string,
  cursor: ChangeCursor,
  caughtUp: boolean,
) {
  await pool.query(
    `INSERT INTO sync_state (connector_id, table_name, cursor_xid, cursor_seq, last_synced_at,
                             caught_up_at, consecutive_failures)
     VALUES ($1, $2, $3::xid8, $4, now(), CASE WHEN $5 THEN now() END, 0)
     ON CONFLICT (connector_id, table_name) DO UPDATE SET
       cursor_xid = EXCLUDED.cursor_xid, cursor_seq = EXCLUDED.cursor_seq,
       last_synced_at = now(),
       caught_up_at = CASE WHEN $5 THEN now() ELSE sync_state.caught_up_at END,
       consecutive_failures = 0, last_error_code = NULL, last_error = NULL`,
    [connectorId, tableName, cursor.xid, cursor.seq, caughtUp],
  );
}

/** Counts one more failure in a row of the table's sync and returns how many there are now. */
export async function recordSyncFailure(
  pool: pg.Pool,
  connectorId: number,
  tableName: string,
  errorCode: string,
  message: string,
): Promise<number> {
  const result = await pool.query<{ failures: number }>(
    `INSERT INTO sync_state (connector_id, table_name, consecutive_failures, last_error_code, last_error)
     VALUES ($1, $2, 1, $3, $4)
     ON CONFLICT (connector_id, table_name) DO UPDATE SET
       consecutive_failures = sync_state.consecutive_failures + 1,
       last_error_code = EXCLUDED.last_error_code, last_error = EXCLUDED.last_error
     RETURNING consecutive_failures AS failures`,
    [connectorId, tableName, errorCode, message],
  );
  return result.rows[0]!.failures;
}

export async function listSyncStates(pool: pg.Pool, connectorId: number) {
  const result = await pool.query<SyncState>(
    `SELECT table_name AS "tableName", cursor_seq::text AS "cursorSeq",
            last_synced_at AS "lastSyncedAt", caught_up_at AS "caughtUpAt",
            consecutive_failures AS "consecutiveFailures", last_error_code AS "lastErrorCode",
            last_error AS "lastError"
       FROM sync_state WHERE connector_id = $1 ORDER BY table_name`,
    [connectorId],
  );
  return result.rows;
}
