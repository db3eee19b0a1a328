import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';

import type { Destination } from '../../src/destinations/destination.ts';
import {
  allTables,
  dimensionTables,
  eventTables,
  type ColumnType,
} from '../../src/mirror/tables.ts';
import {
  assertFails,
  chunkMark,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const clicks = eventTables.clicks;
const brands = dimensionTables.find((table) => table.name === 'brands')!;

const { admin, open } = await destinationTestDatabase('postgres_destination');

/** What information_schema.columns says for each catalogue type. */
const informationSchemaTypes: Record<ColumnType, string> = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  timestamptz: 'timestamp with time zone',
  money: 'numeric',
  boolean: 'boolean',
};

/** A clicks row with every optional column NULL and change_seq 1. */
function click(affiliateId: number, id: string, occurredAt: string): string {
  return rowLine(clicks, { affiliate_id: affiliateId, id, occurred_at: occurredAt });
}

async function clickRows(schema: string): Promise<Array<{ affiliate: number; id: string }>> {
  const result = await admin.query<{ affiliate: number; id: string }>(
    `SELECT affiliate_id AS affiliate, id FROM ${schema}.clicks ORDER BY affiliate_id, id`,
  );
  return result.rows;
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

  it('maps every catalogue column to its type and nullability', async () => {
    const destination = open({ schema: 'all_tables' });
    await destination.ensureTables(allTables);

    const stored = await admin.query<{ table: string; column: string; type: string; null: string }>(
      `SELECT table_name AS table, column_name AS column, data_type AS type, is_nullable AS null
         FROM information_schema.columns
        WHERE table_schema = 'all_tables' AND table_name = ANY($1::text[])
        ORDER BY table_name, ordinal_position`,
      [allTables.map((table) => table.name)],
    );
    const expected = allTables
      .flatMap((table) =>
        table.columns.map((column) => ({
          table: table.name,
          column: column.name,
          type: informationSchemaTypes[column.type],
          null: column.nullable ? 'YES' : 'NO',
        })),
      )
      .sort((a, b) => a.table.localeCompare(b.table));

    assert.deepEqual(stored.rows, expected);
  });

  it('gives every table the key (affiliate_id, id) and event tables a time index', async () => {
    const destination = open({ schema: 'keys_check' });
    await destination.ensureTables([clicks, brands]);

    const indexes = await admin.query<{ table: string; definition: string }>(
      `SELECT tablename AS table, indexdef AS definition
         FROM pg_indexes
        WHERE schemaname = 'keys_check' AND tablename IN ('brands', 'clicks')
        ORDER BY tablename, indexname`,
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
    await admin.query(`INSERT INTO idempotent.clicks (affiliate_id, id, occurred_at, change_seq)
      VALUES (1, 'c1', '2017-11-07T00:00:00Z', 1)`);

    await destination.ensureTables([clicks]);
    await destination.ensureTables([clicks, brands]);

    assert.deepEqual(await clickRows('idempotent'), [{ affiliate: 1, id: 'c1' }]);
  });

  it('lets two workers create the same tables, and the bookkeeping, at the same time', async () => {
    const first = open({ schema: 'concurrent' });
    const second = open({ schema: 'concurrent' });

    await Promise.all([
      first.ensureTables([clicks, brands]),
      second.ensureTables([clicks, brands]),
    ]);

    const tables = await admin.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'concurrent' ORDER BY table_name`,
    );
    assert.deepEqual(
      tables.rows.map((row) => row.name),
      ['_mirror_chunks', '_mirror_cursors', 'brands', 'clicks'],
    );
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
    const lines = [
      click(7, 'before', '2017-11-06T23:59:59.999999Z'),
      click(7, 'at-from', '2017-11-07T00:00:00.000000Z'),
      click(7, 'inside', '2017-11-07T12:00:00.000000Z'),
      click(7, 'at-end', '2017-11-08T00:00:00.000000Z'),
    ];
    await destination.replaceRange(
      clicks,
      7,
      { from: '2017-11-01T00:00:00Z', toExclusive: '2017-12-01T00:00:00Z' },
      rowsOf(lines),
      chunkMark(lines.length),
    );
    await admin.query(`INSERT INTO ${schema}.clicks (affiliate_id, id, occurred_at, change_seq)
      VALUES (8, 'other-affiliate', '2017-11-07T12:00:00Z', 1)`);
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
      chunkMark(2),
    );

    assert.deepEqual(result, { rowsDeleted: 2, rowsWritten: 2, rowsInRange: 2 });
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
      chunkMark(1),
    );

    const stored = await admin.query<{ at: string }>(
      `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM ${schema}.clicks WHERE id = 'micro'`,
    );
    assert.equal(stored.rows[0]?.at, '2017-11-07T10:11:12.345678Z');
  });

  it('rolls back a malformed row and reports DESTINATION_FAILED with the SQLSTATE', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);

    const error = await assertFails(
      destination.replaceRange(
        clicks,
        7,
        range,
        rowsOf([click(7, 'good', '2017-11-07T01:00:00Z'), click(7, 'bad', 'not-a-time')]),
        chunkMark(2),
      ),
      'DESTINATION_FAILED',
    );

    assert.equal(error.sqlState, '22007');
    assert.match(error.message, /replacing clicks of affiliate 7/);
    assert.match(error.message, /line 2/);
    assert.deepEqual(await clickRows(schema), rowsBefore);
  });

  it('reports a bad row as DESTINATION_FAILED while the source is still sending', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);
    const total = 1_000_000;
    let sent = 0;

    // Regression: the failed COPY also destroys the source with the server's error, and that
    // echo on the source stream was once passed on as if the source had failed.
    async function* longSource() {
      yield click(7, 'bad', 'not-a-time');
      for (; sent < total; sent++) {
        if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield click(7, `row-${sent}`, '2017-11-07T01:00:00Z');
      }
    }

    const error = await assertFails(
      destination.replaceRange(clicks, 7, range, Readable.from(longSource()), chunkMark(total)),
      'DESTINATION_FAILED',
    );

    assert.equal(error.sqlState, '22007');
    assert.ok(sent < total, 'the source was not stopped');
    assert.deepEqual(await clickRows(schema), rowsBefore);
  });

  it('rolls back and passes on the error when the source stream fails midway', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);
    const sourceFailure = new Error('source query was cancelled');

    async function* failingSource() {
      yield click(7, 'first', '2017-11-07T01:00:00Z');
      await new Promise((resolve) => setImmediate(resolve));
      throw sourceFailure;
    }

    const error = await destination
      .replaceRange(clicks, 7, range, Readable.from(failingSource()), chunkMark(1))
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );

    assert.equal(error, sourceFailure);
    assert.deepEqual(await clickRows(schema), rowsBefore);
  });

  it('passes on the error of a source that fails before the COPY starts', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);
    const sourceFailure = new Error('source could not start');
    const rows = new Readable({ read: () => undefined });
    rows.destroy(sourceFailure);

    const error = await destination.replaceRange(clicks, 7, range, rows, chunkMark(0)).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    assert.equal(error, sourceFailure);
    assert.deepEqual(await clickRows(schema), rowsBefore);
  });

  it('refuses a range end without a time zone before deleting anything', async () => {
    await seed();
    const rowsBefore = await clickRows(schema);

    const mark = chunkMark(0);

    await assertFails(
      destination.replaceRange(
        clicks,
        7,
        { ...range, toExclusive: '2017-11-08' },
        rowsOf([]),
        mark,
      ),
      'VALIDATION_FAILED',
    );

    assert.deepEqual(await clickRows(schema), rowsBefore);
    assert.deepEqual(await destination.committedChunks(mark.executionId), new Set());
  });
});
