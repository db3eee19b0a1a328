import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { eventTables } from '../../src/mirror/tables.ts';
import { connectionFields, createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';

/** Reloads in situations that break naive delete-and-copy mirrors. */

const AFFILIATE = 7;
const api = await startTestService('reload_hard_cases');
const destination = await createTestDatabase('reload_hard_cases_dest');
const admin = await api.tenant(AFFILIATE);

async function connector() {
  const created = await api.request('POST', '/v1/affiliates/connectors', {
    token: admin,
    body: {
      affiliateId: AFFILIATE,
      engine: 'PostgresSQL',
      useSsl: false,
      ...connectionFields(destination.url),
    },
  });
  return created.body.id as number;
}

async function reload(connectorId: number, body: Record<string, unknown>) {
  const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
    token: admin,
    body,
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  return api.waitForExecution(accepted.body.executionId, admin);
}

const insertClick = (id: string, at: string) =>
  api.store.pool.query('INSERT INTO clicks (affiliate_id, id, occurred_at) VALUES ($1, $2, $3)', [
    AFFILIATE,
    id,
    at,
  ]);

const first = await connector();

describe('hard cases of reloads', () => {
  test('an event whose time moved at the source is moved in the mirror, not refused as a duplicate', async () => {
    await insertClick('moving', '2020-01-01T10:00:00Z');
    await reload(first, { fromDate: '2020-01-01', toDate: '2020-01-01' });
    await api.store.pool.query(
      `UPDATE clicks SET occurred_at = '2021-01-01T10:00:00Z' WHERE id = 'moving'`,
    );

    const execution = await reload(first, { fromDate: '2021-01-01', toDate: '2021-01-01' });
    const rows = await destination.pool.query(
      `SELECT id, occurred_at FROM public.clicks WHERE id = 'moving'`,
    );

    assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
    assert.equal(rows.rows.length, 1);
    assert.equal(rows.rows[0].occurred_at.toISOString(), '2021-01-01T10:00:00.000Z');
  });

  test('ten years with rows on two days are four chunks, and stale mirror rows in the empty years go', async () => {
    await insertClick('y2015a', '2015-06-01T01:00:00Z');
    await insertClick('y2015b', '2015-06-02T01:00:00Z');
    await destination.pool.query(
      `INSERT INTO public.clicks (affiliate_id, id, occurred_at, change_seq) VALUES ($1, 'stale', '2012-02-02T00:00:00Z', 1)`,
      [AFFILIATE],
    );

    const execution = await reload(first, { fromDate: '2010-01-01', toDate: '2019-12-31' });
    const stale = await destination.pool.query(`SELECT 1 FROM public.clicks WHERE id = 'stale'`);

    assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
    assert.equal(execution.progress.chunksTotal, 4);
    assert.equal(stale.rowCount, 0);
  });

  test('two connectors of one affiliate on the same destination reload at once and both end exact', async () => {
    for (let n = 0; n < 2_000; n += 1)
      await insertClick(`twin-${n}`, `2019-03-0${1 + (n % 5)}T0${n % 10}:00:00Z`);
    const second = await connector();

    const window = { fromDate: '2019-03-01', toDate: '2019-03-05' };
    const [a, b] = await Promise.all([reload(first, window), reload(second, window)]);
    const source = await fingerprint(api.store.url, eventTables.clicks, {
      affiliateId: AFFILIATE,
      from: '2019-03-01T00:00:00Z',
      toExclusive: '2019-03-06T00:00:00Z',
    });
    const mirror = await fingerprint(destination.url, eventTables.clicks, {
      affiliateId: AFFILIATE,
      schema: 'public',
      from: '2019-03-01T00:00:00Z',
      toExclusive: '2019-03-06T00:00:00Z',
    });

    assert.equal(a.status, 'succeeded', JSON.stringify(a.error));
    assert.equal(b.status, 'succeeded', JSON.stringify(b.error));
    assert.deepEqual(mirror, source);
  });
});
