import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import pg from 'pg';

import { createTestDatabase } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

/**
 * Rows on a window's edges, with both databases' sessions in time zones other than UTC:
 * nothing may be read or written in a server's or session's zone.
 */

const api = await startTestService('window_edges');
const destination = await createTestDatabase('window_edges_dest');
const admin = await api.tenant(7);

await api.store.pool.query(
  `ALTER DATABASE ${new URL(api.store.url).pathname.slice(1)} SET timezone TO 'Pacific/Auckland'`,
);
await destination.pool.query(
  `ALTER DATABASE ${destination.name} SET timezone TO 'America/New_York'`,
);

const connectorId = await api.connector(admin, destination.url);

const instants: Record<string, string> = {
  'before-from': '2017-11-06T23:59:59.999999Z',
  'at-from': '2017-11-07T00:00:00.000000Z',
  'at-from-twin': '2017-11-07T00:00:00.000000Z',
  'middle-micros': '2017-11-07T12:34:56.789012Z',
  'last-micro': '2017-11-07T23:59:59.999999Z',
  'next-midnight': '2017-11-08T00:00:00.000000Z',
  'at-to': '2017-11-08T10:00:00.000000Z',
  'at-to-twin': '2017-11-08T10:00:00.000000Z',
  'after-to': '2017-11-08T10:00:00.000001Z',
};

const store = new pg.Client({ connectionString: api.store.url });
await store.connect();
for (const [id, at] of Object.entries(instants)) {
  await store.query('INSERT INTO clicks (affiliate_id, id, occurred_at) VALUES (7, $1, $2)', [
    id,
    at,
  ]);
}
await store.end();

async function reload(fromDate: string, toDate: string) {
  const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
    token: admin,
    body: { dataType: 'clicks', fromDate, toDate },
  });
  return api.waitForExecution(accepted.body.executionId, admin);
}

async function mirrored(): Promise<Record<string, string>> {
  const result = await destination.pool.query<{ id: string; at: string }>(
    `SELECT id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
       FROM public.clicks ORDER BY id`,
  );
  return Object.fromEntries(result.rows.map((row) => [row.id, row.at]));
}

describe('window edges, in sessions that are not UTC', () => {
  test('a date-only window holds its first and last microsecond and nothing beside', async () => {
    const execution = await reload('2017-11-07', '2017-11-07');
    const ids = ['at-from', 'at-from-twin', 'last-micro', 'middle-micros'];

    assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
    assert.deepEqual(await mirrored(), Object.fromEntries(ids.map((id) => [id, instants[id]])));
  });

  test('an inclusive toDate keeps every row that shares its instant, and no later one', async () => {
    await reload('2017-11-08T00:00:00Z', '2017-11-08T10:00:00Z');
    const rows = await mirrored();

    assert.equal(rows['at-to'], instants['at-to']);
    assert.equal(rows['at-to-twin'], instants['at-to-twin']);
    assert.equal(rows['next-midnight'], instants['next-midnight']);
    assert.equal(rows['after-to'], undefined);
    assert.equal(rows['before-from'], undefined);
  });
});
