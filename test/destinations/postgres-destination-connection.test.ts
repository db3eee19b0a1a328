import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import type { ConnectionSettings } from '../../src/destinations/destination.ts';
import { openDestination } from '../../src/destinations/open-destination.ts';
import { destinationFailure, retryClassOf } from '../../src/destinations/postgres/errors.ts';
import { SqlServerDestination } from '../../src/destinations/sqlserver/sqlserver-destination.ts';
import { AppError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { Secret } from '../../src/secret.ts';
import {
  assertFails,
  chunkMark,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const { admin, settingsFor, open } = await destinationTestDatabase('postgres_destination_conn');

/**
 * Runs `test` with a login role of its own, then drops the role and its grants in the test
 * database, whether the test passed or not. Roles belong to the whole server.
 */
async function withRole(password: string, test: (role: string) => Promise<void>): Promise<void> {
  const role = `t_role_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);

  try {
    await test(role);
  } finally {
    await admin.query(`DROP OWNED BY ${role}`);
    await admin.query(`DROP ROLE ${role}`);
  }
}

/** Runs a connection test on a destination of its own, closed before returning the error. */
async function connectionTestError(overrides: Partial<ConnectionSettings>): Promise<AppError> {
  const destination = openDestination(settingsFor(overrides), silentLogger());

  try {
    return await assertFails(destination.testConnection(), 'CONNECTION_TEST_FAILED');
  } finally {
    await destination.close();
  }
}

describe('testConnection', () => {
  it('succeeds on a usable database and leaves nothing behind', async () => {
    await open({ schema: 'probe_only' }).testConnection();

    const schemas = await admin.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'probe_only'`);
    assert.equal(schemas.rowCount, 0);
  });

  it('fails with CONNECTION_TEST_FAILED for a wrong password and never shows it', async () => {
    await withRole('right-secret-1234', async (role) => {
      const wrong = new Secret('wrong-secret-5678');

      const error = await connectionTestError({ username: role, password: wrong });

      assert.equal(error.sqlState, '28P01');
      assert.equal(error.retryClass, 'unreachable');
      assert.match(error.message, new RegExp(`password authentication failed for user "${role}"`));
      assert.doesNotMatch(error.message, /wrong-secret-5678|right-secret-1234/);
      assert.doesNotMatch(JSON.stringify(error), /wrong-secret-5678/);
    });
  });

  it('fails for a user who may not create schemas in the database', async () => {
    await withRole('limited-1234', async (role) => {
      const password = new Secret('limited-1234');

      const error = await connectionTestError({ username: role, password });

      assert.equal(error.sqlState, '42501');
      assert.equal(error.retryClass, 'permanent');
      assert.match(error.message, /cannot create tables in schema "mirror"/);
      assert.match(error.message, /permission denied for database/);
    });
  });

  it('fails for a user who may use an existing schema but not create tables in it', async () => {
    await withRole('reader-1234', async (role) => {
      await admin.query(`CREATE SCHEMA read_only; GRANT USAGE ON SCHEMA read_only TO ${role}`);
      const password = new Secret('reader-1234');

      const error = await connectionTestError({ schema: 'read_only', username: role, password });

      assert.equal(error.sqlState, '42501');
      assert.match(error.message, /permission denied for schema read_only/);
    });
  });

  it('fails fast with a clear message when nothing listens on the port', async () => {
    const started = Date.now();

    const error = await connectionTestError({ host: '127.0.0.1', port: 1 });

    assert.equal(error.message, 'could not connect to 127.0.0.1:1: connection refused');
    assert.equal(error.retryClass, 'transient');
    assert.ok(Date.now() - started < 5_000);
  });
});

describe('a role that may only write to tables prepared for it', () => {
  it('can still run ensureTables and replace rows', async () => {
    await withRole('writer-1234', async (role) => {
      await admin.query(`CREATE SCHEMA prepared; GRANT USAGE ON SCHEMA prepared TO ${role}`);
      await open({ schema: 'prepared' }).ensureTables([eventTables.clicks]);
      await admin.query(`GRANT SELECT, INSERT, DELETE ON prepared.clicks TO ${role}`);
      // Chunks are recorded in the destination, so the writer records them there too.
      await admin.query(`GRANT SELECT, INSERT ON prepared._mirror_chunks TO ${role}`);
      const password = new Secret('writer-1234');
      const writer = open({ schema: 'prepared', username: role, password });

      await writer.ensureTables([eventTables.clicks]);
      const range = { from: '2017-11-07T00:00:00Z', toExclusive: '2017-11-08T00:00:00Z' };
      const click = { affiliate_id: 1, id: 'c1', occurred_at: '2017-11-07T01:00:00Z' };
      const rows = rowsOf([rowLine(eventTables.clicks, click)]);
      const result = await writer.replaceRange(eventTables.clicks, 1, range, rows, chunkMark(1));
      await writer.close();

      assert.deepEqual(result, { rowsDeleted: 0, rowsWritten: 1, rowsInRange: 1 });
    });
  });
});

describe('retryClass of a failed operation', () => {
  async function ensureTablesError(overrides: Partial<ConnectionSettings>): Promise<AppError> {
    const destination = openDestination(settingsFor(overrides), silentLogger());
    try {
      return await assertFails(
        destination.ensureTables([eventTables.clicks]),
        'DESTINATION_FAILED',
      );
    } finally {
      await destination.close();
    }
  }

  it('is unreachable for a wrong password, so that retries do not hammer the server', async () => {
    await withRole('right-secret-1234', async (role) => {
      const error = await ensureTablesError({ username: role, password: new Secret('wrong') });

      assert.equal(error.sqlState, '28P01');
      assert.equal(error.retryClass, 'unreachable');
    });
  });

  it('is transient when nothing listens on the port (yet)', async () => {
    const error = await ensureTablesError({ host: '127.0.0.1', port: 1 });

    assert.equal(error.sqlState, undefined);
    assert.equal(error.retryClass, 'transient');
  });

  it('is permanent when the role lacks a privilege (42501)', async () => {
    await withRole('limited-1234', async (role) => {
      const error = await ensureTablesError({
        username: role,
        password: new Secret('limited-1234'),
      });

      assert.equal(error.sqlState, '42501');
      assert.equal(error.retryClass, 'permanent');
    });
  });

  it('is transient for a connection the server closed mid-write (EPIPE), not a SQLSTATE', () => {
    // Node's system error for a write to a closed socket; its code has the shape of a SQLSTATE.
    const epipe = Object.assign(new Error('write EPIPE'), {
      errno: -32,
      code: 'EPIPE',
      syscall: 'write',
    });

    assert.equal(retryClassOf(epipe), 'transient');
    const error = destinationFailure(epipe, settingsFor(), 'replacing clicks');
    assert.equal(error.sqlState, undefined);
    assert.equal(error.retryClass, 'transient');
  });

  it('is transient for a client whose connection died between two statements', () => {
    // Regression: a destination restarted between a chunk's statements failed the execution.
    const dead = new Error('Client has encountered a connection error and is not queryable');
    assert.equal(retryClassOf(dead), 'transient');
  });
});

describe('openDestination', () => {
  it('opens SqlServer destinations with the SQL Server engine', async () => {
    const destination = openDestination(settingsFor({ engine: 'SqlServer' }), silentLogger());

    assert.ok(destination instanceof SqlServerDestination);
    await destination.close();
  });

  it('refuses an engine it does not know', () => {
    const settings = { ...settingsFor(), engine: 'Oracle' } as unknown as ConnectionSettings;

    assert.throws(
      () => openDestination(settings, silentLogger()),
      (error: unknown) =>
        error instanceof AppError && error.code === 'DESTINATION_ENGINE_UNSUPPORTED',
    );
  });
});
