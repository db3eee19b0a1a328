import { randomBytes } from 'node:crypto';

import type pg from 'pg';

import type { ConnectionSettings } from '../destination.ts';
import { ensureSchema } from './ddl.ts';
import { connectionTestFailure } from './errors.ts';
import { qualifiedName } from '../../sql/postgres-identifiers.ts';

/** A test waiting on a lock held by someone else must still answer in about ten seconds. */
const PROBE_STATEMENT_TIMEOUT = '10s';

/**
 * Proves that the destination can be used: logs in, then creates the schema (when missing)
 * and a probe table in it, drops the table and rolls everything back, so the test leaves no
 * trace even when it succeeds.
 */
export async function testConnection(pool: pg.Pool, settings: ConnectionSettings): Promise<void> {
  const client = await pool.connect().catch((error: unknown) => {
    throw connectionTestFailure(error, settings, 'connect');
  });

  try {
    await probeCreate(client, settings.schema);
  } catch (error: unknown) {
    throw connectionTestFailure(error, settings, 'create');
  } finally {
    const rolledBack = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    client.release(!rolledBack);
  }
}

async function probeCreate(client: pg.PoolClient, schema: string): Promise<void> {
  // A random name, so that two tests of the same destination never wait for each other.
  const probe = qualifiedName(schema, `affiliate_mirror_probe_${randomBytes(4).toString('hex')}`);

  await client.query('BEGIN');
  await client.query(`SET LOCAL statement_timeout = '${PROBE_STATEMENT_TIMEOUT}'`);

  await ensureSchema(client, schema);
  await client.query(`CREATE TABLE ${probe} (id integer)`);
  await client.query(`DROP TABLE ${probe}`);
}
