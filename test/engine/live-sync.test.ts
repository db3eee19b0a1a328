import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { eventTables, type MirrorTable } from '../../src/mirror/tables.ts';
import { createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';

/**
 * The continuous mirror: events sent through the API reach the destination by themselves,
 * updates and deletes included, late and back-dated ones too; and a reload that runs while
 * events keep arriving ends with the mirror equal to the source.
 */

const MIRROR_BOUND_MS = 30_000;
const AFFILIATE = 7;

const api = await startTestService('live_sync', { liveSync: true });
const destination = await createTestDatabase('live_sync_dest');
const admin = await api.tenant(AFFILIATE);
const connectorId = await api.connector(admin, destination.url);

async function send(events: unknown[]) {
  const response = await api.request('POST', `/v1/affiliates/${AFFILIATE}/events`, {
    token: admin,
    body: { events },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.rejected.length, 0, JSON.stringify(response.body.rejected));
}

const sourceOf = (table: MirrorTable) =>
  fingerprint(api.store.url, table, { affiliateId: AFFILIATE });
const mirrorOf = (table: MirrorTable) =>
  fingerprint(destination.url, table, { affiliateId: AFFILIATE, schema: 'public' });

/** Waits until the mirror of `table` equals the source; returns how long that took. */
async function mirrored(table: MirrorTable, boundMs = MIRROR_BOUND_MS) {
  const started = Date.now();
  let source = await sourceOf(table);
  while (Date.now() - started < boundMs) {
    const mirror = await mirrorOf(table).catch(() => undefined);
    if (mirror && mirror.checksum === source.checksum) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
    source = await sourceOf(table);
  }
  assert.deepEqual(
    await mirrorOf(table),
    source,
    `${table.name} not mirrored within ${boundMs} ms`,
  );
  return Date.now() - started;
}

const click = (id: string, occurredAt: string, extra: Record<string, unknown> = {}) => ({
  type: 'click',
  id,
  occurredAt,
  brandId: 'b1',
  ...extra,
});

describe('continuous mirror', () => {
  test('new events reach the mirror within the bound, a back-dated one too', async () => {
    await send([
      click('c1', '2026-12-01T10:00:00.123456Z'),
      click('c2', '2026-12-01T10:00:01Z'),
      click('old', '2011-03-04T05:06:07.000001Z'),
      {
        type: 'conversion',
        id: 'v1',
        occurredAt: '2026-12-01T10:05:00Z',
        clickId: 'c1',
        status: 'pending',
        amount: '10.5000',
        currency: 'EUR',
      },
      {
        type: 'pageview',
        id: 'p1',
        occurredAt: '2026-12-01T09:59:00Z',
        path: '/x',
        statusCode: 200,
      },
    ]);

    await mirrored(eventTables.clicks);
    await mirrored(eventTables.conversions);
    await mirrored(eventTables.pageviews);
    assert.equal((await mirrorOf(eventTables.clicks)).rows, 3);
  });

  test('an update, even of an old event, replaces the mirrored row', async () => {
    await send([
      {
        type: 'conversion',
        id: 'v1',
        occurredAt: '2026-12-01T10:05:00Z',
        clickId: 'c1',
        status: 'approved',
        amount: '12345678901234.5678',
        currency: 'EUR',
      },
      click('old', '2011-03-04T05:06:07.000001Z', { brandId: 'b2' }),
    ]);
    await mirrored(eventTables.conversions);
    await mirrored(eventTables.clicks);

    const row = await destination.pool.query(
      'SELECT status, amount::text AS amount FROM public.conversions WHERE id = $1',
      ['v1'],
    );
    assert.deepEqual(row.rows[0], { status: 'approved', amount: '12345678901234.5678' });
  });

  test('a deleted event disappears from the mirror', async () => {
    const deleted = await api.request('DELETE', `/v1/affiliates/${AFFILIATE}/events/click/c2`, {
      token: admin,
    });
    assert.equal(deleted.status, 204);

    await mirrored(eventTables.clicks);
    const rows = await destination.pool.query('SELECT id FROM public.clicks ORDER BY id');
    assert.deepEqual(
      rows.rows.map((r) => r.id),
      ['c1', 'old'],
    );
  });

  test('an id changed by hand, and a row deleted and inserted again in one statement, mirror right', async () => {
    await send([
      click('rename-me', '2026-12-02T10:00:00Z'),
      click('phoenix', '2026-12-02T11:00:00Z'),
    ]);
    await mirrored(eventTables.clicks);

    await api.store.pool.query(`UPDATE clicks SET id = 'renamed' WHERE id = 'rename-me'`);
    await api.store.pool.query(
      `WITH gone AS (DELETE FROM clicks WHERE id = 'phoenix' RETURNING *)
       INSERT INTO clicks (affiliate_id, id, occurred_at, brand_id)
       SELECT affiliate_id, id, occurred_at, 'reborn' FROM gone`,
    );
    await mirrored(eventTables.clicks);

    const rows = await destination.pool.query(
      `SELECT id, brand_id FROM public.clicks WHERE id IN ('rename-me', 'renamed', 'phoenix') ORDER BY id`,
    );
    assert.deepEqual(rows.rows, [
      { id: 'phoenix', brand_id: 'reborn' },
      { id: 'renamed', brand_id: 'b1' },
    ]);
  });

  test('mirrored rows carry the change they came from', async () => {
    const source = await api.store.pool.query(
      `SELECT id, change_seq::text AS seq FROM clicks ORDER BY id`,
    );
    const mirror = await destination.pool.query(
      `SELECT id, change_seq::text AS seq FROM public.clicks ORDER BY id`,
    );
    assert.deepEqual(mirror.rows, source.rows);
  });

  test('a reload during live ingest of the same data type ends exact', async () => {
    let ingesting = true;
    let sent = 0;
    const ingest = (async () => {
      for (let batch = 0; ingesting; batch += 1) {
        const events = Array.from({ length: 200 }, (_, i) => {
          const n = batch * 200 + i;
          const minute = String(n % 60).padStart(2, '0');
          return click(
            `live-${n % 3000}`,
            `2026-11-${String(1 + (n % 20)).padStart(2, '0')}T12:${minute}:00.${String(n).padStart(6, '0').slice(-6)}Z`,
            { os: String(batch) },
          );
        });
        await send(events);
        sent += events.length;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
      token: admin,
      body: { dataType: 'clicks', fromDate: '2026-11-01', toDate: '2026-11-30' },
    });
    const execution = await api.waitForExecution(accepted.body.executionId, admin, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    ingesting = false;
    await ingest;

    assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
    assert.ok(sent > 1_000, `only ${sent} events sent`);
    await mirrored(eventTables.clicks);
  });

  test('the connector status shows each table caught up, with no failures', async () => {
    const status = await api.request('GET', `/v1/affiliates/connectors/${connectorId}/status`, {
      token: admin,
    });
    const clicks = status.body.tables.find((t: { table: string }) => t.table === 'clicks');

    assert.equal(status.status, 200);
    assert.equal(status.body.broken, null);
    assert.equal(clicks.consecutiveFailures, 0);
    assert.ok(clicks.lagSeconds !== null && clicks.lagSeconds < 30, JSON.stringify(clicks));
    assert.match(clicks.lastSyncedChangeSeq, /^\d+$/);
  });
});
