import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { BatchWriter, upsertStatement } from '../../src/importers/batch-writer.ts';
import { silentLogger } from '../../src/logger.ts';
import { createTestStore } from '../support/databases.ts';
import { snapshotTable } from './store-snapshot.ts';

const store = await createTestStore('batch_writer');
const AFFILIATE_ID = 7;

const pageviewColumns = ['id', 'occurred_at', 'path', 'user_agent'];

function pageviewWriter(batchRows = 1_000) {
  return new BatchWriter({
    pool: store.pool,
    affiliateId: AFFILIATE_ID,
    targets: [
      { tableName: 'brands', columns: ['id', 'name'], onConflict: 'keep-existing' },
      { tableName: 'pageviews', columns: pageviewColumns, onConflict: 'update-if-changed' },
    ],
    logger: silentLogger(),
    batchRows,
  });
}

async function writeAll(writer: BatchWriter, rows: Array<[string, unknown[]]>): Promise<void> {
  for (const [table, values] of rows) {
    writer.add(table, values);
    if (writer.isFull) await writer.flush();
  }
  await writer.finish();
}

before(async () => {
  await store.pool.query(`INSERT INTO affiliates (id, name) VALUES ($1, 'x')`, [AFFILIATE_ID]);
});

describe('BatchWriter', () => {
  it('uses one parameter per column, however many rows a batch has', () => {
    const sql = upsertStatement({
      tableName: 'pageviews',
      columns: pageviewColumns,
      onConflict: 'update-if-changed',
    });

    assert.match(
      sql,
      /unnest\(\$2::text\[\], \$3::timestamptz\[\], \$4::text\[\], \$5::text\[\]\)/,
    );
    assert.doesNotMatch(sql, /\$6/);
  });

  it('writes rows beyond one batch and counts them per table', async () => {
    const writer = pageviewWriter(1_000);
    const rows: Array<[string, unknown[]]> = [];
    for (let i = 0; i < 2_500; i += 1) {
      rows.push(['pageviews', [`bulk-${i}`, '2015-05-17T10:00:00Z', `/p/${i}`, 'ua']]);
    }

    await writeAll(writer, rows);

    assert.equal(writer.rowsImported.pageviews, 2_500);
    assert.equal(writer.rowsChanged.pageviews, 2_500);
    const count = await store.pool.query(
      `SELECT count(*)::int AS n FROM pageviews WHERE id LIKE 'bulk-%'`,
    );
    assert.equal(count.rows[0].n, 2_500);
  });

  it('strips NUL bytes from text, which PostgreSQL refuses, and counts them', async () => {
    const writer = pageviewWriter();

    await writeAll(writer, [['pageviews', ['nul-1', '2015-05-17T10:00:00Z', '/a\0b', 'x\0\0y']]]);

    assert.equal(writer.nulBytesStripped, 3);
    const row = await store.pool.query(`SELECT path, user_agent FROM pageviews WHERE id = 'nul-1'`);
    assert.deepEqual(row.rows[0], { path: '/ab', user_agent: 'xy' });
  });

  it('rewrites a stored row only when one of its values differs', async () => {
    const first = [['pageviews', ['same', '2015-05-17T10:00:00Z', '/a', 'ua']]] as Array<
      [string, unknown[]]
    >;
    await writeAll(pageviewWriter(), first);
    const before = await snapshotTable(store.pool, 'pageviews', AFFILIATE_ID);

    const repeat = pageviewWriter();
    await writeAll(repeat, first);
    assert.equal(repeat.rowsChanged.pageviews, 0);
    assert.deepEqual(await snapshotTable(store.pool, 'pageviews', AFFILIATE_ID), before);

    const changed = pageviewWriter();
    await writeAll(changed, [['pageviews', ['same', '2015-05-17T10:00:00Z', '/b', 'ua']]]);
    assert.equal(changed.rowsChanged.pageviews, 1);
  });

  it('keeps a dimension name stored by another source and writes each id once', async () => {
    await store.pool.query(
      `INSERT INTO brands (affiliate_id, id, name) VALUES ($1, '12', 'Real name')`,
      [AFFILIATE_ID],
    );
    const writer = pageviewWriter();

    await writeAll(writer, [
      ['brands', ['12', 'App 12']],
      ['brands', ['13', 'App 13']],
      ['brands', ['13', 'App 13']],
    ]);

    assert.equal(writer.rowsImported.brands, 2);
    assert.equal(writer.rowsChanged.brands, 1);
    const names = await store.pool.query(`SELECT id, name FROM brands ORDER BY id`);
    assert.deepEqual(names.rows, [
      { id: '12', name: 'Real name' },
      { id: '13', name: 'App 13' },
    ]);
  });
});
