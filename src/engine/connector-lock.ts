import type pg from 'pg';

import type { ConnectorRecord } from '../store/connectors-store.ts';

/** First key of the two-key advisory lock; the second is a hash of what the writer writes. */
const WRITER_LOCK_SPACE = 1_337_001;

export interface ConnectorLock {
  release(): Promise<void>;
}

/**
 * What one writer owns: an affiliate's tables in one destination schema. Two connectors of the
 * same affiliate pointing at the same schema share it, so they never write at once either.
 */
export function writerKey(connector: ConnectorRecord | { id: number }): string {
  if (!('host' in connector)) return `connector ${connector.id}`;

  const target = `${connector.host.toLowerCase()}:${connector.port}/${connector.database}`;
  return `${connector.engine} ${target}/${connector.schema} affiliate ${connector.affiliateId}`;
}

/**
 * One writer per connector (and per destination schema and affiliate): a session advisory
 * lock in the platform store, held on its own connection for as long as the work runs. If the
 * process dies, PostgreSQL drops the connection and the lock with it, so a crash can never
 * leave a connector locked.
 */
export async function tryLockConnector(pool: pg.Pool, connector: ConnectorRecord | { id: number }) {
  const client = await pool.connect();
  const key = writerKey(connector);
  const result = await client.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
    [WRITER_LOCK_SPACE, key],
  );

  if (!result.rows[0]?.locked) {
    client.release();
    return undefined;
  }
  const lock: ConnectorLock = {
    release: async () => {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [WRITER_LOCK_SPACE, key]);
      client.release();
    },
  };
  return lock;
}
