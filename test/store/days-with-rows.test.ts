/**
 * The chunk plan's day list, found by index probes, must be exactly the days that hold rows:
 * checked against a plain DISTINCT over the same rows, at midnights, at the window's ends and
 * before 1970.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { eventTables } from '../../src/mirror/tables.ts';
import { upsertAffiliate } from '../../src/store/affiliates-store.ts';
import { daysWithRows } from '../../src/store/source-rows.ts';
import { createTestStore } from '../support/databases.ts';

const store = await createTestStore('days_with_rows');
await upsertAffiliate(store.pool, { id: 5, name: 'Five', features: [] });
await upsertAffiliate(store.pool, { id: 6, name: 'Six', features: [] });

const clicks = eventTables.clicks;
const times = [
  '1965-06-30T23:59:59.999999Z',
  '1969-12-31T23:59:59.999999Z',
  '1970-01-01T00:00:00Z',
  '2024-02-28T23:59:59.999999Z',
  '2024-02-29T00:00:00Z',
  '2024-02-29T12:00:00Z',
  '2024-03-05T00:00:00.000001Z',
  '2030-01-01T00:00:00Z',
];
for (const [i, at] of times.entries()) {
  await store.pool.query(`INSERT INTO clicks (affiliate_id, id, occurred_at) VALUES (5, $1, $2)`, [
    `c${i}`,
    at,
  ]);
}
await store.pool.query(
  `INSERT INTO clicks (affiliate_id, id, occurred_at) VALUES (6, 'other', '2024-03-01T00:00:00Z')`,
);

async function distinctDays(from: string, toExclusive: string): Promise<bigint[]> {
  const result = await store.pool.query<{ day: string }>(
    `SELECT DISTINCT floor(extract(epoch FROM occurred_at) / 86400)::bigint::text AS day
       FROM clicks WHERE affiliate_id = 5 AND occurred_at >= $1 AND occurred_at < $2`,
    [from, toExclusive],
  );
  return result.rows.map((row) => BigInt(row.day)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('daysWithRows', () => {
  const windows: Array<[string, string]> = [
    ['1900-01-01T00:00:00Z', '2999-01-01T00:00:00Z'],
    ['2024-02-29T00:00:00Z', '2024-03-05T00:00:00.000001Z'],
    ['2024-02-29T00:00:00Z', '2024-03-05T00:00:00.000002Z'],
    ['1969-12-31T23:59:59.999999Z', '1970-01-01T00:00:00.000001Z'],
    ['2024-02-29T12:00:00.000001Z', '2024-03-01T00:00:00Z'],
  ];

  for (const [from, toExclusive] of windows) {
    test(`finds exactly the days with rows in [${from}, ${toExclusive})`, async () => {
      const found = await daysWithRows(store.pool, clicks, 5, { from, toExclusive });
      assert.deepEqual(found, await distinctDays(from, toExclusive));
    });
  }

  test('sees only the affiliate asked for', async () => {
    const found = await daysWithRows(store.pool, clicks, 6, {
      from: '2024-01-01T00:00:00Z',
      toExclusive: '2025-01-01T00:00:00Z',
    });
    assert.deepEqual(found, [BigInt(Date.parse('2024-03-01T00:00:00Z') / 86_400_000)]);
  });
});
