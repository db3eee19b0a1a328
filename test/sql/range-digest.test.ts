/**
 * queryRangeDigests on a real PostgreSQL: the digests it returns are those of the plain query,
 * it groups by hashing rather than by sorting the whole range, and it leaves the session's
 * sort setting as the server had it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import pg from 'pg';

import { eventTables } from '../../src/mirror/tables.ts';
import {
  DIGEST_SESSION_SETTINGS,
  digestsOf,
  queryRangeDigests,
  rangeDigestSql,
  type DigestRow,
} from '../../src/sql/range-digest.ts';
import { createTestStore } from '../support/databases.ts';

const clicks = eventTables.clicks;
const store = await createTestStore('range_digest');
const range = { from: '2023-05-01T00:00:00.000000Z', toExclusive: '2023-05-02T00:00:00.000000Z' };

await store.pool.query(`INSERT INTO affiliates (id, name) VALUES (3, 'digest')`);
await store.pool.query(
  `INSERT INTO clicks (affiliate_id, id, occurred_at, device, ip)
   SELECT 3, 'c' || i, '2023-05-01T00:00:00Z'::timestamptz + i * interval '17 seconds',
          CASE WHEN i % 3 = 0 THEN NULL ELSE 'device ' || (i % 11) END, '10.0.0.' || (i % 200)
     FROM generate_series(0, 5999) AS i`,
);
await store.pool.query('ANALYZE clicks');

/**
 * Runs `work` in a transaction with the digest settings, as a chunk does. `settings` stand in
 * for a big range: with little memory, 6,000 rows expected as 6,000 groups are too many for
 * the planner to hash unless told not to sort, as 300,000 are at the default work_mem.
 */
async function inDigestTransaction<T>(
  client: pg.ClientBase,
  work: () => Promise<T>,
  settings: string[] = [],
): Promise<T> {
  await client.query('BEGIN');
  try {
    for (const statement of [...DIGEST_SESSION_SETTINGS, ...settings])
      await client.query(statement);
    return await work();
  } finally {
    await client.query('ROLLBACK');
  }
}

describe('queryRangeDigests', () => {
  it('returns exactly the digests of the plain query', async () => {
    const client = await store.pool.connect();
    try {
      const [fast, plain] = await inDigestTransaction(client, async () => [
        await queryRangeDigests(client, 'clicks', clicks, 3, range),
        digestsOf(
          (
            await client.query<DigestRow>(rangeDigestSql('clicks', clicks), [
              3,
              range.from,
              range.toExclusive,
            ])
          ).rows,
        ),
      ]);

      assert.equal(fast.size, 24);
      assert.deepEqual([...fast.entries()].sort(), [...plain.entries()].sort());
    } finally {
      client.release();
    }
  });

  it('groups the hours by hashing, not by sorting every row of the range', async () => {
    const client = await store.pool.connect();
    try {
      // Record the statements queryRangeDigests sends, then have each explained in turn.
      const sent: Array<{ text: string; values?: unknown[] }> = [];
      const recorder = {
        query: (text: string, values?: unknown[]) => {
          sent.push({ text, values });
          return client.query(text, values);
        },
      } as unknown as pg.ClientBase;
      const littleMemory = [`SET LOCAL work_mem = '64kB'`];
      await inDigestTransaction(
        client,
        () => queryRangeDigests(recorder, 'clicks', clicks, 3, range),
        littleMemory,
      );

      const plans = await inDigestTransaction(
        client,
        async () => {
          const explained: string[] = [];
          for (const { text, values } of sent) {
            if (text.startsWith('SET ')) {
              await client.query(text);
              continue;
            }
            const result = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
            explained.push(result.rows.map((row) => row['QUERY PLAN']).join('\n'));
          }
          return explained;
        },
        littleMemory,
      );

      assert.equal(plans.length, 1);
      assert.match(plans[0]!, /HashAggregate/);
      assert.doesNotMatch(plans[0]!, /\bSort\b/);
    } finally {
      client.release();
    }
  });

  it('puts the sort setting back as the server has it, on or off', async () => {
    for (const serverSetting of ['on', 'off']) {
      await store.pool.query(`ALTER DATABASE ${store.name} SET enable_sort = ${serverSetting}`);
      const client = new pg.Client({ connectionString: store.url });
      await client.connect();
      try {
        const after = await inDigestTransaction(client, async () => {
          await queryRangeDigests(client, 'clicks', clicks, 3, range);
          return (await client.query<{ v: string }>(`SELECT current_setting('enable_sort') AS v`))
            .rows[0]!.v;
        });
        assert.equal(after, serverSetting);
      } finally {
        await client.end();
      }
    }
    await store.pool.query(`ALTER DATABASE ${store.name} RESET enable_sort`);
  });
});
