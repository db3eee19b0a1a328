/**
 * The connection test for SQL Server: logs in, creates the schema when it is missing and a
 * probe table in it, drops the table and rolls everything back, so the test leaves no trace.
 */
import { randomBytes } from 'node:crypto';

import { qualifiedName } from '../../sql/sqlserver-identifiers.ts';
import type { ConnectionSettings } from '../destination.ts';
import { SqlServerSession } from './connection.ts';
import { createSchemaSql } from './ddl.ts';
import { connectionTestFailure } from './errors.ts';

/** A test waiting on a lock held by someone else must still answer in about ten seconds. */
export const PROBE_REQUEST_TIMEOUT_MS = 10_000;

export async function testConnection(settings: ConnectionSettings): Promise<void> {
  const session = await SqlServerSession.open(settings).catch((error: unknown) => {
    throw connectionTestFailure(error, settings, 'connect');
  });

  try {
    await probeCreate(session, settings.schema);
  } catch (error: unknown) {
    throw connectionTestFailure(error, settings, 'create');
  } finally {
    // Closing ends the session; the server rolls back what the probe did.
    await session.close();
  }
}

async function probeCreate(session: SqlServerSession, schema: string): Promise<void> {
  // A random name, so that two tests of the same destination never wait for each other.
  const probe = qualifiedName(schema, `affiliate_mirror_probe_${randomBytes(4).toString('hex')}`);

  await session.begin();
  await session.query(
    createSchemaSql(schema),
    [{ name: 'schema', type: 'nvarchar', value: schema }],
    PROBE_REQUEST_TIMEOUT_MS,
  );
  await session.batch(`CREATE TABLE ${probe} ([id] int)`, PROBE_REQUEST_TIMEOUT_MS);
  await session.batch(`DROP TABLE ${probe}`, PROBE_REQUEST_TIMEOUT_MS);
  await session.rollback();
}
