import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { dimensionTables, eventTables } from '../../src/mirror/tables.ts';
import {
  assertFails,
  chunkMark,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const clicks = eventTables.clicks;
const brands = dimensionTables.find((table) => table.name === 'brands')!;

const { admin, open } = await destinationTestDatabase('postgres_destination_upgrade');

async function columnsOf(schema: string, table: string) {
  const result = await admin.query<{ name: string; type: string; null: string; fill: string }>(
    `SELECT column_name AS name, data_type AS type, is_nullable AS null,
            column_default AS fill
       FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  return result.rows;
}

describe('ensureTables on tables made by an older version', () => {
  it('adds a missing nullable column and change_seq, keeping the rows (as change 0)', async () => {
    await admin.query(`CREATE SCHEMA older;
      CREATE TABLE older.clicks (
        affiliate_id integer NOT NULL, id text NOT NULL, occurred_at timestamptz NOT NULL,
        brand_id text, program_id text, traffic_source_id text, link_id text, ip text,
        device text, os text, user_agent text,
        PRIMARY KEY (affiliate_id, id));
      INSERT INTO older.clicks (affiliate_id, id, occurred_at, ip)
        VALUES (1, 'c1', '2017-11-07T01:00:00Z', '10.0.0.1')`);
    const destination = open({ schema: 'older' });

    await destination.ensureTables([clicks]);

    const columns = await columnsOf('older', 'clicks');
    assert.deepEqual(columns.slice(-2), [
      { name: 'referrer', type: 'text', null: 'YES', fill: null },
      { name: 'change_seq', type: 'bigint', null: 'NO', fill: '0' },
    ]);
    const rows = await admin.query(`SELECT id, ip, referrer, change_seq::int AS seq
      FROM older.clicks`);
    assert.deepEqual(rows.rows, [{ id: 'c1', ip: '10.0.0.1', referrer: null, seq: 0 }]);
    const bookkeeping = await admin.query(
      `SELECT 1 FROM pg_tables WHERE schemaname = 'older' AND tablename LIKE '\\_mirror\\_%'`,
    );
    assert.equal(bookkeeping.rowCount, 2);
  });

  it('leaves an upgraded table usable, with its columns in catalogue order for COPY', async () => {
    await admin.query(`CREATE SCHEMA older_load;
      CREATE TABLE older_load.clicks (
        affiliate_id integer NOT NULL, id text NOT NULL, occurred_at timestamptz NOT NULL,
        PRIMARY KEY (affiliate_id, id))`);
    const destination = open({ schema: 'older_load' });
    await destination.ensureTables([clicks]);
    const range = { from: '2017-11-07T00:00:00Z', toExclusive: '2017-11-08T00:00:00Z' };
    const row = { affiliate_id: 1, id: 'c1', occurred_at: '2017-11-07T01:00:00Z', referrer: 'r' };

    const result = await destination.replaceRange(
      clicks,
      1,
      range,
      rowsOf([rowLine(clicks, { ...row, change_seq: 42 })]),
      chunkMark(1),
    );

    assert.equal(result.rowsInRange, 1);
    const stored = await admin.query(`SELECT referrer, change_seq::int AS seq
      FROM older_load.clicks`);
    assert.deepEqual(stored.rows, [{ referrer: 'r', seq: 42 }]);
  });

  it('fails naming the table and column when occurred_at is missing; changes nothing', async () => {
    await admin.query(`CREATE SCHEMA broken;
      CREATE TABLE broken.brands (
        affiliate_id integer NOT NULL, id text NOT NULL, name text, PRIMARY KEY (affiliate_id, id));
      CREATE TABLE broken.clicks (
        affiliate_id integer NOT NULL, id text NOT NULL, PRIMARY KEY (affiliate_id, id))`);
    const destination = open({ schema: 'broken' });

    const error = await assertFails(
      destination.ensureTables([brands, eventTables.conversions, clicks]),
      'SCHEMA_DRIFT',
    );

    assert.match(error.message, /broken\.clicks has no column occurred_at/);
    assert.equal(error.retryClass, 'permanent');
    const tables = await admin.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'broken' ORDER BY tablename`,
    );
    assert.deepEqual(
      tables.rows.map((row) => row.name),
      ['brands', 'clicks'],
    );
    const brandColumns = await columnsOf('broken', 'brands');
    assert.deepEqual(
      brandColumns.map((column) => column.name),
      ['affiliate_id', 'id', 'name'],
    );
  });
});
