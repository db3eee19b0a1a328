import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import pg from 'pg';

import { createTestDatabase } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

/**
 * A reload of one local day of an affiliate in Europe/Paris, on the 23-hour day when the
 * clocks go forward (2026-03-29: local midnight is 23:00 UTC the day before, the next local
 * midnight 22:00 UTC). Clicks sit exactly on the day's edges; the mirror must hold exactly the
 * ones of that local day.
 */

const api = await startTestService('reload_time_zone');
const destination = await createTestDatabase('reload_time_zone_dest');
const admin = await api.tenant(7);
const connectorId = await api.connector(admin, destination.url);

const instants: Record<string, string> = {
  'before-local-midnight': '2026-03-28T22:59:59.999999Z',
  'at-local-midnight': '2026-03-28T23:00:00.000000Z',
  'at-utc-midnight': '2026-03-29T00:00:00.000000Z',
  'after-the-jump': '2026-03-29T01:00:00.000000Z',
  'last-local-micro': '2026-03-29T21:59:59.999999Z',
  'at-next-local-midnight': '2026-03-29T22:00:00.000000Z',
  'end-of-utc-day': '2026-03-29T23:59:59.999999Z',
};
const insideLocalDay = [
  'after-the-jump',
  'at-local-midnight',
  'at-utc-midnight',
  'last-local-micro',
];

const store = new pg.Client({ connectionString: api.store.url });
await store.connect();
for (const [id, at] of Object.entries(instants)) {
  await store.query('INSERT INTO clicks (affiliate_id, id, occurred_at) VALUES (7, $1, $2)', [
    id,
    at,
  ]);
}
await store.end();

async function mirrored(): Promise<Record<string, string>> {
  const result = await destination.pool.query<{ id: string; at: string }>(
    `SELECT id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
       FROM public.clicks ORDER BY id`,
  );
  return Object.fromEntries(result.rows.map((row) => [row.id, row.at]));
}

describe('a reload in the affiliate time zone, end to end', () => {
  test('a date-only day of Europe/Paris mirrors exactly the clicks of that local day', async () => {
    const patched = await api.request('PATCH', '/v1/affiliates/7', {
      token: admin,
      body: { timeZone: 'Europe/Paris' },
    });
    assert.equal(patched.status, 200);

    const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
      token: admin,
      body: { dataType: 'clicks', fromDate: '2026-03-29', toDate: '2026-03-29' },
    });
    assert.equal(accepted.status, 202);
    const execution = await api.waitForExecution(accepted.body.executionId, admin);

    assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
    assert.deepEqual(execution.window, {
      from: '2026-03-28T23:00:00.000000Z',
      to: '2026-03-29T21:59:59.999999Z',
      timeZone: 'Europe/Paris',
    });
    assert.deepEqual(
      await mirrored(),
      Object.fromEntries(insideLocalDay.map((id) => [id, instants[id]])),
    );
    assert.equal(execution.progress.rowsWritten, insideLocalDay.length);
  });
});
