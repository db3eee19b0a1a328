import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { eventTables } from '../../src/mirror/tables.ts';
import { createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';

/**
 * Reloads into mirror tables a customer changed: a dropped table is recreated and the reload
 * ends exact for its window; a table changed beyond repair fails the reload at once with
 * SCHEMA_DRIFT naming the column, and does not stop reloads of the other tables.
 */

const AFFILIATE = 7;
const WINDOW = { fromDate: '2026-12-01', toDate: '2026-12-01' };
const RANGE = { from: '2026-12-01T00:00:00Z', toExclusive: '2026-12-02T00:00:00Z' };

const api = await startTestService('reload_drift');
const destination = await createTestDatabase('reload_drift_dest');
const admin = await api.tenant(AFFILIATE);
const connectorId = await api.connector(admin, destination.url);

async function reload(dataType: string) {
  const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
    token: admin,
    body: { dataType, ...WINDOW },
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  return api.waitForExecution(accepted.body.executionId, admin);
}

async function sameInWindow(dataType: 'clicks' | 'conversions') {
  const table = eventTables[dataType];
  const options = { affiliateId: AFFILIATE, ...RANGE };
  const source = await fingerprint(api.store.url, table, options);
  assert.ok(source.rows > 0);
  assert.deepEqual(
    await fingerprint(destination.url, table, { ...options, schema: 'public' }),
    source,
  );
}

describe('reloads into mirror tables a customer changed', () => {
  test('a dropped table is recreated and the reload ends succeeded and exact for its window', async () => {
    const sent = await api.request('POST', `/v1/affiliates/${AFFILIATE}/events`, {
      token: admin,
      body: {
        events: [
          { type: 'click', id: 'c1', occurredAt: '2026-12-01T10:00:00Z', userAgent: 'ua' },
          { type: 'click', id: 'c2', occurredAt: '2026-12-01T23:59:59.999999Z' },
          { type: 'conversion', id: 'v1', occurredAt: '2026-12-01T11:00:00Z', amount: '1.5' },
        ],
      },
    });
    assert.equal(sent.status, 200);
    assert.equal((await reload('clicks')).status, 'succeeded');

    await destination.pool.query('DROP TABLE public.clicks');
    const execution = await reload('clicks');

    assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
    await sameInWindow('clicks');
  });

  test('a column of another type fails the reload with SCHEMA_DRIFT naming it; other tables still reload', async () => {
    await destination.pool.query('ALTER TABLE public.conversions ALTER COLUMN amount TYPE integer');

    const failed = await reload('conversions');
    const clicks = await reload('clicks');

    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'SCHEMA_DRIFT');
    assert.match(
      failed.error.message,
      /public\.conversions\.amount is integer; the mirror needs numeric\(19,4\)/,
    );
    const rows = await destination.pool.query('SELECT count(*)::int AS n FROM public.conversions');
    assert.deepEqual(rows.rows, [{ n: 0 }]);
    assert.equal(clicks.status, 'succeeded', JSON.stringify(clicks.error));

    await destination.pool.query(
      'ALTER TABLE public.conversions ALTER COLUMN amount TYPE numeric(19,4)',
    );
    assert.equal((await reload('conversions')).status, 'succeeded');
    await sameInWindow('conversions');
  });
});
