import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { importApacheLog } from '../../src/importers/apache-log-importer.ts';
import { importTalkingData } from '../../src/importers/talkingdata-importer.ts';
import { silentLogger } from '../../src/logger.ts';
import { dimensionTables, eventTables, type MirrorTable } from '../../src/mirror/tables.ts';
import { connectionFields, createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';

/**
 * The main path on real data: import both shared files, mirror every data type into a
 * destination database (an external PostgreSQL server when MIRROR_TEST_DESTINATION_URL is set),
 * and compare destination with source row for row.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = path.resolve(repoRoot, '..', 'shared', 'data');
const AFFILIATE = 7;
const SCHEMA = 'mirror';

const api = await startTestService('e2e_real_data');
const token = await api.tenant(AFFILIATE);
const externalServer = process.env.MIRROR_TEST_DESTINATION_URL || undefined;
const destination = await createTestDatabase('e2e_dest', { serverUrl: externalServer });

const importOptions = { affiliateId: AFFILIATE, logger: silentLogger() };
await importTalkingData(api.store.pool, {
  ...importOptions,
  file: path.join(dataDir, 'talkingdata', 'train_sample.csv'),
});
await importApacheLog(api.store.pool, {
  ...importOptions,
  file: path.join(dataDir, 'apache', 'access.log'),
});

const created = await api.request('POST', '/v1/affiliates/connectors', {
  token,
  body: {
    affiliateId: AFFILIATE,
    engine: 'PostgresSQL',
    useSsl: false,
    schema: SCHEMA,
    ...connectionFields(destination.url),
  },
});
const connectorId: number = created.body.id;

async function reloadAndWait(body: Record<string, unknown>) {
  const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
    token,
    body,
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  const execution = await api.waitForExecution(accepted.body.executionId, token, 120_000);
  assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
  return execution;
}

/** Source rows of a window against all destination rows of the table. */
async function assertMirrored(table: MirrorTable, window?: { from: string; toExclusive: string }) {
  const source = await fingerprint(api.store.url, table, { affiliateId: AFFILIATE, ...window });
  const mirror = await fingerprint(destination.url, table, {
    affiliateId: AFFILIATE,
    schema: SCHEMA,
  });
  assert.deepEqual(mirror, source, `${table.name}: destination differs from source`);
  return source;
}

describe('reload on real data, end to end', () => {
  test(`destination server: ${externalServer ? 'external PostgreSQL (MIRROR_TEST_DESTINATION_URL)' : 'a database of the test server'}`, () => {
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  test('clicks over a window that cuts through days hold exactly its source rows', async () => {
    const execution = await reloadAndWait({
      dataType: 'clicks',
      fromDate: '2017-11-06T20:30:00Z',
      toDate: '2017-11-08T09:15:00.5Z',
    });
    const window = { from: '2017-11-06T20:30:00Z', toExclusive: '2017-11-08T09:15:00.500001Z' };
    const source = await assertMirrored(eventTables.clicks, window);

    assert.ok(source.rows > 50_000, `only ${source.rows} clicks in the window`);
    assert.equal(execution.progress.chunksTotal, 3);
    assert.equal(execution.progress.rowsRead, source.rows);
    assert.equal(execution.progress.rowsWritten, source.rows);
  });

  test('an adjacent window extends the mirror with no row counted twice or lost', async () => {
    await reloadAndWait({
      dataType: 'clicks',
      fromDate: '2017-11-08T09:15:00.500001Z',
      toDate: '2017-11-09',
    });
    await reloadAndWait({
      dataType: 'clicks',
      fromDate: '2017-11-06',
      toDate: '2017-11-06T20:29:59.999999Z',
    });

    const all = await assertMirrored(eventTables.clicks);
    assert.equal(all.rows, 100_000);
  });

  test('conversions and page views mirror over their whole range', async () => {
    await reloadAndWait({ dataType: 'conversions', fromDate: '2017-11-06', toDate: '2017-11-10' });
    await reloadAndWait({ dataType: 'pageviews', fromDate: '2015-05-17', toDate: '2015-05-20' });

    assert.equal((await assertMirrored(eventTables.conversions)).rows, 227);
    assert.ok((await assertMirrored(eventTables.pageviews)).rows > 9_000);
  });

  test('the dimension merge inserts every dimension row', async () => {
    const execution = await reloadAndWait({ dataType: 'dimensions' });

    for (const table of dimensionTables) await assertMirrored(table);
    assert.equal(execution.progress.rowsInserted, 161 + 161);
    assert.equal(execution.progress.rowsDeleted, 0);
  });

  test('reloading again changes nothing, and reads and writes no row to find that out', async () => {
    await reloadAndWait({ dataType: 'clicks', fromDate: '2017-11-06', toDate: '2017-11-09' });
    const before = await fingerprint(destination.url, eventTables.clicks, {
      affiliateId: AFFILIATE,
      schema: SCHEMA,
    });
    const again = await reloadAndWait({
      dataType: 'clicks',
      fromDate: '2017-11-06',
      toDate: '2017-11-09',
    });
    const merge = await reloadAndWait({ dataType: 'dimensions' });

    // The store and the destination (another PostgreSQL major version in CI) digest the
    // window alike, so no hour differs and no row moves.
    assert.equal(again.progress.rowsRead, 0);
    assert.equal(again.progress.rowsWritten, 0);
    assert.equal(again.progress.rowsDeleted, 0);

    assert.deepEqual(
      await fingerprint(destination.url, eventTables.clicks, {
        affiliateId: AFFILIATE,
        schema: SCHEMA,
      }),
      before,
    );
    assert.equal(
      merge.progress.rowsInserted + merge.progress.rowsUpdated + merge.progress.rowsDeleted,
      0,
    );
  });

  test('rows deleted or changed at the source disappear or change in the mirror', async () => {
    const pool = api.store.pool;
    const removed = await pool.query<{ id: string }>(
      `DELETE FROM clicks WHERE id = (SELECT id FROM clicks WHERE affiliate_id = $1
         AND occurred_at >= '2017-11-07T00:00:00Z' AND occurred_at < '2017-11-08T00:00:00Z'
         ORDER BY id LIMIT 1) RETURNING id`,
      [AFFILIATE],
    );
    await pool.query(`DELETE FROM conversions WHERE affiliate_id = $1 AND click_id = $2`, [
      AFFILIATE,
      removed.rows[0]!.id,
    ]);
    await pool.query(
      `UPDATE brands SET name = 'Renamed brand' WHERE affiliate_id = $1 AND id = (SELECT min(id) FROM brands WHERE affiliate_id = $1)`,
      [AFFILIATE],
    );
    await pool.query(
      `DELETE FROM traffic_sources WHERE affiliate_id = $1 AND id = (SELECT min(id) FROM traffic_sources WHERE affiliate_id = $1)`,
      [AFFILIATE],
    );

    const clicks = await reloadAndWait({
      dataType: 'clicks',
      fromDate: '2017-11-07',
      toDate: '2017-11-07',
    });
    const merge = await reloadAndWait({ dataType: 'dimensions' });

    assert.equal((await assertMirrored(eventTables.clicks)).rows, 99_999);
    for (const table of dimensionTables) await assertMirrored(table);
    assert.equal(clicks.progress.rowsDeleted, clicks.progress.rowsWritten + 1);
    assert.equal(merge.progress.rowsUpdated, 1);
    assert.equal(merge.progress.rowsDeleted, 1);
  });
});
