import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import type pg from 'pg';

import type { ConnectionSettings, Destination } from '../../src/destinations/destination.ts';
import { openDestination } from '../../src/destinations/open-destination.ts';
import { AppError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { dimensionTables, eventTables } from '../../src/mirror/tables.ts';
import { Secret } from '../../src/secret.ts';
import { createTestDatabase } from '../support/databases.ts';

const clicks = eventTables.clicks;
const brands = dimensionTables.find((table) => table.name === 'brands')!;
const programs = dimensionTables.find((table) => table.name === 'programs')!;

const database = await createTestDatabase('postgres_destination');
const admin: pg.Pool = database.pool;

/** Settings pointing at the test database, as `user`, with `schema`. */
function settingsFor(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  const url = new URL(database.url);
  return {
    engine: 'PostgresSQL',
    host: url.hostname,
    port: Number(url.port),
    database: database.name,
    schema: 'mirror',
    username: decodeURIComponent(url.username),
    password: new Secret(decodeURIComponent(url.password)),
    useSsl: false,
    ...overrides,
  };
}

const opened: Destination[] = [];

function open(overrides: Partial<ConnectionSettings> = {}): Destination {
  const destination = openDestination(settingsFor(overrides), silentLogger());
  opened.push(destination);
  return destination;
}

after(async () => {
  await Promise.all(opened.map((destination) => destination.close()));
});

/** One COPY text line; null becomes `\N`. */
function line(values: Array<string | number | null>): string {
  return values.map((value) => (value === null ? '\\N' : String(value))).join('\t') + '\n';
}

/** A clicks row with every optional column NULL. */
function click(affiliateId: number, id: string, occurredAt: string): string {
  return line([affiliateId, id, occurredAt, ...Array<null>(clicks.columns.length - 3).fill(null)]);
}

function rowsOf(lines: string[]): Readable {
  return Readable.from(lines);
}

async function clickRows(schema: string): Promise<Array<{ affiliate: number; id: string }>> {
  const result = await admin.query<{ affiliate: number; id: string }>(
    `SELECT affiliate_id AS affiliate, id FROM ${schema}.clicks ORDER BY affiliate_id, id`,
  );
  return result.rows;
}

async function assertFails(promise: Promise<unknown>, code: string): Promise<AppError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but it succeeded`),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

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

describe('ensureTables', () => {
  it('creates the schema and tables with the mapped column types', async () => {
    const destination = open({ schema: 'types_check' });
    await destination.ensureTables([clicks, eventTables.conversions, brands]);

    const columns = await admin.query<Record<string, string | number | null>>(
      `SELECT table_name, column_name, data_type, numeric_precision, numeric_scale,
              datetime_precision, is_nullable
         FROM information_schema.columns WHERE table_schema = 'types_check'`,
    );
    const find = (table: string, column: string) =>
      columns.rows.find((row) => row.table_name === table && row.column_name === column);

    assert.deepEqual(
      { ...find('conversions', 'amount') },
      {
        table_name: 'conversions',
        column_name: 'amount',
        data_type: 'numeric',
        numeric_precision: 19,
        numeric_scale: 4,
        datetime_precision: null,
        is_nullable: 'YES',
      },
    );
    assert.equal(find('clicks', 'occurred_at')?.data_type, 'timestamp with time zone');
    assert.equal(find('clicks', 'occurred_at')?.datetime_precision, 6);
    assert.equal(find('clicks', 'occurred_at')?.is_nullable, 'NO');
    assert.equal(find('clicks', 'affiliate_id')?.data_type, 'integer');
    assert.equal(find('brands', 'name')?.data_type, 'text');
  });

  it('gives every table the key (affiliate_id, id) and event tables a time index', async () => {
    const destination = open({ schema: 'keys_check' });
    await destination.ensureTables([clicks, brands]);

    const indexes = await admin.query<{ table: string; definition: string }>(
      `SELECT tablename AS table, indexdef AS definition
         FROM pg_indexes WHERE schemaname = 'keys_check' ORDER BY tablename, indexname`,
    );
    const definitions = indexes.rows.map((row) => `${row.table}: ${row.definition}`);

    assert.equal(definitions.length, 3);
    assert.match(definitions[0]!, /^brands: CREATE UNIQUE INDEX .* \(affiliate_id, id\)$/);
    assert.match(definitions[1]!, /^clicks: CREATE INDEX .* \(affiliate_id, occurred_at\)$/);
    assert.match(definitions[2]!, /^clicks: CREATE UNIQUE INDEX .* \(affiliate_id, id\)$/);
  });

  it('is idempotent and keeps the rows already there', async () => {
    const destination = open({ schema: 'idempotent' });
    await destination.ensureTables([clicks]);
    await admin.query(`INSERT INTO idempotent.clicks (affiliate_id, id, occurred_at)
      VALUES (1, 'c1', '2017-11-07T00:00:00Z')`);

    await destination.ensureTables([clicks]);
    await destination.ensureTables([clicks, brands]);

    assert.deepEqual(await clickRows('idempotent'), [{ affiliate: 1, id: 'c1' }]);
  });

  it('lets two workers create the same tables at the same time', async () => {
    const first = open({ schema: 'concurrent' });
    const second = open({ schema: 'concurrent' });

    await Promise.all([
      first.ensureTables([clicks, brands]),
      second.ensureTables([clicks, brands]),
    ]);

    const tables = await admin.query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = 'concurrent'`,
    );
    assert.equal(tables.rowCount, 2);
  });
});

describe('replaceRange', () => {
  const schema = 'replace_range';
  const range = { from: '2017-11-07T00:00:00.000000Z', toExclusive: '2017-11-08T00:00:00.000000Z' };
  let destination: Destination;

  before(async () => {
    destination = open({ schema });
    await destination.ensureTables([clicks]);
  });

  async function seed(): Promise<void> {
    await admin.query(`TRUNCATE ${schema}.clicks`);
    await destination.replaceRange(
      clicks,
      7,
      { from: '2017-11-01T00:00:00Z', toExclusive: '2017-12-01T00:00:00Z' },
      rowsOf([
        click(7, 'before', '2017-11-06T23:59:59.999999Z'),
        click(7, 'at-from', '2017-11-07T00:00:00.000000Z'),
        click(7, 'inside', '2017-11-07T12:00:00.000000Z'),
        click(7, 'at-end', '2017-11-08T00:00:00.000000Z'),
      ]),
    );
    await admin.query(`INSERT INTO ${schema}.clicks (affiliate_id, id, occurred_at)
      VALUES (8, 'other-affiliate', '2017-11-07T12:00:00Z')`);
  }

  it('deletes only the affiliate rows in the half-open range and loads the new rows', async () => {
    await seed();

    const result = await destination.replaceRange(
      clicks,
      7,
      range,
      rowsOf([
        click(7, 'new-1', '2017-11-07T00:00:00.000000Z'),
        click(7, 'new-2', '2017-11-07T23:59:59.999999Z'),
      ]),
    );

    assert.deepEqual(result, { rowsDeleted: 2, rowsWritten: 2 });
    assert.deepEqual(await clickRows(schema), [
      { affiliate: 7, id: 'at-end' },
      { affiliate: 7, id: 'before' },
      { affiliate: 7, id: 'new-1' },
      { affiliate: 7, id: 'new-2' },
      { affiliate: 8, id: 'other-affiliate' },
    ]);
  });

  it('keeps microseconds of the loaded rows', async () => {
    await seed();

    await destination.replaceRange(
      clicks,
      7,
      range,
      rowsOf([click(7, 'micro', '2017-11-07T10:11:12.345678Z')]),
    );

    const stored = await admin.query<{ at: string }>(
      `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM ${schema}.clicks WHERE id = 'micro'`,
    );
    assert.equal(stored.rows[0]?.at, '2017-11-07T10:11:12.345678Z');
  });

  it('rolls back when a row is malformed and reports DESTINATION_FAILED with the SQLSTATE', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);

    const error = await assertFails(
      destination.replaceRange(
        clicks,
        7,
        range,
        rowsOf([click(7, 'good', '2017-11-07T01:00:00Z'), click(7, 'bad', 'not-a-time')]),
      ),
      'DESTINATION_FAILED',
    );

    assert.equal(error.sqlState, '22007');
    assert.match(error.message, /replacing clicks of affiliate 7/);
    assert.match(error.message, /line 2/);
    assert.deepEqual(await clickRows(schema), rowsBefore);
  });

  it('rolls back and passes on the error when the source stream fails midway', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);
    const sourceFailure = new Error('source query was cancelled');

    async function* failingSource() {
      yield click(7, 'first', '2017-11-07T01:00:00Z');
      throw sourceFailure;
    }

    const error = await destination
      .replaceRange(clicks, 7, range, Readable.from(failingSource()))
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );

    assert.equal(error, sourceFailure);
    assert.deepEqual(await clickRows(schema), rowsBefore);
  });

  it('refuses a range end without a time zone before deleting anything', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);

    await assertFails(
      destination.replaceRange(clicks, 7, { ...range, toExclusive: '2017-11-08' }, rowsOf([])),
      'VALIDATION_FAILED',
    );

    assert.deepEqual(await clickRows(schema), rowsBefore);
  });
});

describe('mergeDimension', () => {
  const schema = 'merge_dimension';
  let destination: Destination;

  before(async () => {
    destination = open({ schema });
    await destination.ensureTables([brands, programs]);
  });

  it('reports inserted, updated and deleted rows, and 0/0/0 for an identical merge', async () => {
    const first = [line([3, 'b1', 'Alpha']), line([3, 'b2', 'Beta']), line([3, 'b3', null])];
    assert.deepEqual(await destination.mergeDimension(brands, 3, rowsOf(first)), {
      rowsWritten: 3,
      inserted: 3,
      updated: 0,
      deleted: 0,
    });

    await admin.query(`INSERT INTO ${schema}.brands VALUES (4, 'b1', 'Other affiliate')`);
    const second = [line([3, 'b1', 'Alpha']), line([3, 'b2', 'Beta 2']), line([3, 'b4', 'New'])];
    assert.deepEqual(await destination.mergeDimension(brands, 3, rowsOf(second)), {
      rowsWritten: 3,
      inserted: 1,
      updated: 1,
      deleted: 1,
    });

    assert.deepEqual(await destination.mergeDimension(brands, 3, rowsOf(second)), {
      rowsWritten: 3,
      inserted: 0,
      updated: 0,
      deleted: 0,
    });

    const stored = await admin.query(
      `SELECT affiliate_id, id, name FROM ${schema}.brands ORDER BY affiliate_id, id`,
    );
    assert.deepEqual(stored.rows, [
      { affiliate_id: 3, id: 'b1', name: 'Alpha' },
      { affiliate_id: 3, id: 'b2', name: 'Beta 2' },
      { affiliate_id: 3, id: 'b4', name: 'New' },
      { affiliate_id: 4, id: 'b1', name: 'Other affiliate' },
    ]);
  });

  it('counts a change from a value to NULL as an update', async () => {
    await destination.mergeDimension(programs, 5, rowsOf([line([5, 'p1', 'Prog', 'b1'])]));

    const result = await destination.mergeDimension(
      programs,
      5,
      rowsOf([line([5, 'p1', 'Prog', null])]),
    );

    assert.deepEqual(result, { rowsWritten: 1, inserted: 0, updated: 1, deleted: 0 });
  });

  it('lets two merges of the same table run at once without deadlocking', async () => {
    const rows = (affiliate: number) =>
      rowsOf(Array.from({ length: 200 }, (_, i) => line([affiliate, `b${i}`, `Brand ${i}`])));

    const results = await Promise.all([
      destination.mergeDimension(brands, 10, rows(10)),
      open({ schema }).mergeDimension(brands, 11, rows(11)),
    ]);

    assert.deepEqual(
      results.map((result) => result.inserted),
      [200, 200],
    );
  });
});

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
    assert.ok(Date.now() - started < 5_000);
  });
});

describe('openDestination', () => {
  it('refuses SqlServer destinations for now', () => {
    assert.throws(
      () => openDestination(settingsFor({ engine: 'SqlServer' }), silentLogger()),
      (error: unknown) =>
        error instanceof AppError && error.code === 'DESTINATION_ENGINE_UNSUPPORTED',
    );
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
