import type pg from 'pg';

/** First key of the two-key advisory lock; the second is the connector id. */
const CONNECTOR_LOCK_SPACE = 1_337_001;

export interface ConnectorLock {
  release(): Promise<void>;
}

/**
 * One writer per connector: a session advisory lock in the platform store, held on its own
 * connection for as long as the execution runs. If the process dies, PostgreSQL drops the
 * connection and the lock with it, so a crash can never leave a connector locked.
 */
export async function tryLockConnector(pool: pg.Pool, connectorId: number) {
  const client = await pool.connect();
  const result = await client.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_lock($1, $2) AS locked',
    [CONNECTOR_LOCK_SPACE, connectorId],
  );

  if (!result.rows[0]?.locked) {
    client.release();
    return undefined;
  }
  const lock: ConnectorLock = {
    release: async () => {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [CONNECTOR_LOCK_SPACE, connectorId]);
      client.release();
    },
  };
  return lock;
}
