/**
 * Re-mirroring by difference (syncRange): the platform store and the PostgreSQL destination
 * digest a range hour by hour, and only what differs is read and written. Each test checks
 * both that the mirror ends equal to the source and how much was written to get there.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';

import type {
  ChunkClaim,
  Destination,
  RangeSource,
  TimeRange,
} from '../../src/destinations/destination.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { upsertAffiliate } from '../../src/store/affiliates-store.ts';
import { SourceSnapshot } from '../../src/store/source-snapshot.ts';
import { createTestStore } from '../support/databases.ts';
import { postgresCanonicalRows } from './engines-under-test.ts';
import { assertFails, destinationTestDatabase } from './postgres-destination-support.ts';

const clicks = eventTables.clicks;
const store = await createTestStore('sync_range_store');
const { admin, open } = await destinationTestDatabase('sync_range_destination');
const schema = 'diff';
const destination: Destination = open({ schema });
await destination.ensureTables([clicks]);

for (let id = 1; id <= 20; id++) {
  await upsertAffiliate(store.pool, { id, name: `Affiliate ${id}`, features: [] });
}
let nextAffiliate = 1;

/** A day of the test, cut mid-hour at both ends so that edge hours are partial. */
const range: TimeRange = {
  from: '2022-03-01T00:30:00.000000Z',
  toExclusive: '2022-03-01T23:30:00.000000Z',
};

function claim(): ChunkClaim {
  return { executionId: randomUUID(), chunkIndex: 0, workerId: 'test' };
}

async function insertSource(affiliateId: number, rows: Array<[string, string, string?]>) {
  for (const [id, at, device] of rows) {
    await store.pool.query(
      `INSERT INTO clicks (affiliate_id, id, occurred_at, device) VALUES ($1, $2, $3, $4)`,
      [affiliateId, id, at, device ?? null],
    );
  }
}

/** `count` clicks spread over the range, one every `count / 23` hours or so. */
async function manyClicks(affiliateId: number, count: number) {
  await store.pool.query(
    `INSERT INTO clicks (affiliate_id, id, occurred_at, device)
     SELECT $1, 'c' || i, '2022-03-01T00:30:00Z'::timestamptz + (i * interval '1 second' * 82000 / $2),
            'device ' || (i % 7)
       FROM generate_series(0, $2 - 1) AS i`,
    [affiliateId, count],
  );
}

async function sync(affiliateId: number, source?: (snapshot: SourceSnapshot) => RangeSource) {
  const snapshot = await SourceSnapshot.open(store.pool, clicks, affiliateId, range);
  try {
    return await destination.syncRange!(
      clicks,
      affiliateId,
      range,
      source ? source(snapshot) : snapshot,
      claim(),
    );
  } finally {
    await snapshot.close();
  }
}

async function assertMirrorExact(affiliateId: number) {
  const held = await postgresCanonicalRows(admin, `${schema}.clicks`, clicks, affiliateId, range);
  const wanted = await postgresCanonicalRows(store.pool, 'clicks', clicks, affiliateId, range);
  assert.deepEqual(held, wanted);
}

/** Each mirror row's physical version: it changes whenever the row is written. */
async function rowVersions(affiliateId: number): Promise<Map<string, string>> {
  const result = await admin.query<{ id: string; xmin: string }>(
    `SELECT id, xmin::text AS xmin FROM ${schema}.clicks WHERE affiliate_id = $1`,
    [affiliateId],
  );
  return new Map(result.rows.map((row) => [row.id, row.xmin]));
}

describe('PostgreSQL destination: syncRange', () => {
  it('copies a first mirror straight in, exactly', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 3000);

    const result = await sync(affiliateId);

    assert.equal(result.rowsWritten, 3000);
    assert.equal(result.rowsRead, 3000);
    assert.equal(result.rowsDeleted, 0);
    await assertMirrorExact(affiliateId);
  });

  it('writes nothing when the range is already identical', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 2000);
    await sync(affiliateId);
    const before = await rowVersions(affiliateId);

    const result = await sync(affiliateId);

    assert.deepEqual(result, { rowsWritten: 0, rowsDeleted: 0, rowsInRange: 2000, rowsRead: 0 });
    assert.deepEqual(await rowVersions(affiliateId), before);
  });

  it('rewrites only the rows that changed, and removes the deleted ones', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 2000);
    await sync(affiliateId);
    const before = await rowVersions(affiliateId);

    await store.pool.query(
      `UPDATE clicks SET device = 'changed' WHERE affiliate_id = $1 AND id IN ('c10', 'c1500')`,
      [affiliateId],
    );
    await store.pool.query(`DELETE FROM clicks WHERE affiliate_id = $1 AND id = 'c700'`, [
      affiliateId,
    ]);
    await insertSource(affiliateId, [['new', '2022-03-01T12:00:00.000001Z']]);

    const result = await sync(affiliateId);
    const after = await rowVersions(affiliateId);

    await assertMirrorExact(affiliateId);
    assert.equal(result.rowsWritten, 3);
    assert.equal(result.rowsDeleted, 3);
    const rewritten = [...after].filter(([id, version]) => before.get(id) !== version);
    assert.deepEqual(rewritten.map(([id]) => id).sort(), ['c10', 'c1500', 'new']);
    // Caught up by version: only the rows of the changes after the mirror's were read.
    assert.equal(result.rowsRead, 3);
  });

  it('mirrors a row deleted and inserted again at the source as its new version', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 200);
    await sync(affiliateId);

    await store.pool.query(`DELETE FROM clicks WHERE affiliate_id = $1 AND id = 'c20'`, [
      affiliateId,
    ]);
    await insertSource(affiliateId, [['c20', '2022-03-01T20:00:00Z', 'born again']]);
    await store.pool.query(`DELETE FROM clicks WHERE affiliate_id = $1 AND id = 'c21'`, [
      affiliateId,
    ]);
    const result = await sync(affiliateId);
    const c20 = await admin.query(
      `SELECT device FROM ${schema}.clicks WHERE affiliate_id = $1 AND id = 'c20'`,
      [affiliateId],
    );

    await assertMirrorExact(affiliateId);
    assert.deepEqual(c20.rows, [{ device: 'born again' }]);
    assert.equal(result.rowsRead, 1);
    assert.equal(result.rowsWritten, 1);
    assert.equal(result.rowsDeleted, 2);
  });

  it('follows rows whose event time moved within the range and out of it', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 230);
    await sync(affiliateId);

    await store.pool.query(
      `UPDATE clicks SET occurred_at = '2022-03-01T22:59:59.999999Z' WHERE affiliate_id = $1 AND id = 'c5'`,
      [affiliateId],
    );
    await store.pool.query(
      `UPDATE clicks SET occurred_at = '2021-01-01T00:00:00Z' WHERE affiliate_id = $1 AND id = 'c6'`,
      [affiliateId],
    );
    const result = await sync(affiliateId);
    const ids = await admin.query(
      `SELECT id, occurred_at FROM ${schema}.clicks WHERE affiliate_id = $1 AND id IN ('c5', 'c6')`,
      [affiliateId],
    );

    await assertMirrorExact(affiliateId);
    assert.deepEqual(
      ids.rows.map((row: { id: string }) => row.id),
      ['c5'],
    );
    assert.equal(result.rowsWritten, 1);
    assert.equal(result.rowsDeleted, 2);
  });

  it('compares by value when the source deleted too many rows since the mirror was written', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 230);
    await sync(affiliateId);

    // 100,001 rows added and deleted again: more deletions than catching up by version takes.
    await store.pool.query(
      `INSERT INTO clicks (affiliate_id, id, occurred_at)
       SELECT $1, 'elsewhere ' || i, '2022-03-01T03:00:00Z' FROM generate_series(0, 100000) AS i`,
      [affiliateId],
    );
    await store.pool.query(`DELETE FROM clicks WHERE affiliate_id = $1 AND id LIKE 'elsewhere %'`, [
      affiliateId,
    ]);
    await store.pool.query(`UPDATE clicks SET device = 'x' WHERE affiliate_id = $1 AND id = 'c0'`, [
      affiliateId,
    ]);
    const result = await sync(affiliateId);

    await assertMirrorExact(affiliateId);
    assert.equal(result.rowsWritten, 1);
    // By value, the whole differing hour (c0 and its neighbours) was read, not just c0.
    assert.ok(result.rowsRead! > 1, `${result.rowsRead} rows read`);
  });

  it('repairs a row a customer edited or deleted in the mirror', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 500);
    await sync(affiliateId);

    await admin.query(
      `UPDATE ${schema}.clicks SET device = 'edited by hand' WHERE affiliate_id = $1 AND id = 'c5'`,
      [affiliateId],
    );
    await admin.query(`DELETE FROM ${schema}.clicks WHERE affiliate_id = $1 AND id = 'c6'`, [
      affiliateId,
    ]);
    await admin.query(
      `INSERT INTO ${schema}.clicks (affiliate_id, id, occurred_at, change_seq)
       VALUES ($1, 'stray', '2022-03-01T05:00:00Z', 1)`,
      [affiliateId],
    );

    const result = await sync(affiliateId);

    await assertMirrorExact(affiliateId);
    assert.equal(result.rowsWritten, 2);
    assert.equal(result.rowsDeleted, 2);
    // The source changed nothing: catching up by version read no row, comparing by value did.
    assert.ok(result.rowsRead! > 0);
  });

  it('leaves rows outside the range alone, also in the partial hours at its ends', async () => {
    const affiliateId = nextAffiliate++;
    await insertSource(affiliateId, [
      ['inside-first-hour', '2022-03-01T00:45:00Z'],
      ['inside-last-hour', '2022-03-01T23:15:00Z'],
    ]);
    await admin.query(
      `INSERT INTO ${schema}.clicks (affiliate_id, id, occurred_at, change_seq) VALUES
         ($1, 'outside-before', '2022-03-01T00:15:00Z', 1),
         ($1, 'outside-after', '2022-03-01T23:45:00Z', 1),
         ($1, 'inside-first-hour', '2022-03-01T00:50:00Z', 1)`,
      [affiliateId],
    );

    await sync(affiliateId);
    const ids = [...(await rowVersions(affiliateId)).keys()].sort();

    await assertMirrorExact(affiliateId);
    assert.deepEqual(ids, [
      'inside-first-hour',
      'inside-last-hour',
      'outside-after',
      'outside-before',
    ]);
  });

  it('moves a row whose event time changed at the source, even into an empty range', async () => {
    const affiliateId = nextAffiliate++;
    await admin.query(
      `INSERT INTO ${schema}.clicks (affiliate_id, id, occurred_at, change_seq)
       VALUES ($1, 'moved', '2021-01-01T00:00:00Z', 1)`,
      [affiliateId],
    );
    await insertSource(affiliateId, [
      ['moved', '2022-03-01T10:00:00Z', 'now here'],
      ['other', '2022-03-01T11:00:00Z'],
    ]);

    const result = await sync(affiliateId);
    const moved = await admin.query(
      `SELECT occurred_at, device FROM ${schema}.clicks WHERE affiliate_id = $1 AND id = 'moved'`,
      [affiliateId],
    );

    await assertMirrorExact(affiliateId);
    assert.equal(moved.rowCount, 1);
    assert.equal(moved.rows[0].device, 'now here');
    assert.equal(result.rowsWritten, 2);
  });

  it('ignores columns a customer added to the mirror table', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 100);
    await sync(affiliateId);
    await admin.query(`ALTER TABLE ${schema}.clicks ADD COLUMN IF NOT EXISTS note text`);
    await admin.query(`UPDATE ${schema}.clicks SET note = 'mine' WHERE affiliate_id = $1`, [
      affiliateId,
    ]);

    const result = await sync(affiliateId);

    assert.equal(result.rowsWritten, 0);
    assert.equal(result.rowsRead, 0);
  });

  it('commits nothing when the result does not digest as the source said', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 300);
    await sync(affiliateId);
    await store.pool.query(`UPDATE clicks SET device = 'x' WHERE affiliate_id = $1 AND id = 'c1'`, [
      affiliateId,
    ]);
    const before = await rowVersions(affiliateId);

    // A source whose digests count more rows than it sends: the count after the load sees it.
    const lying = (snapshot: SourceSnapshot): RangeSource => ({
      digests: async () => {
        const digests = await snapshot.digests();
        for (const digest of digests.values()) digest.rows += 1;
        return digests;
      },
      rows: (ranges) => snapshot.rows(ranges),
      rowsChangedSince: (since) => snapshot.rowsChangedSince(since),
      deletionsSince: (after, limit) => snapshot.deletionsSince(after, limit),
    });
    const error = await assertFails(sync(affiliateId, lying), 'RECONCILIATION_FAILED');

    assert.match(error.message, /holds \d+ rows but the source has \d+; nothing was committed/);
    assert.deepEqual(await rowVersions(affiliateId), before);
  });

  it('commits nothing when the rows count right but do not hash as the source said', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 300);
    await sync(affiliateId);
    await store.pool.query(`UPDATE clicks SET device = 'y' WHERE affiliate_id = $1 AND id = 'c2'`, [
      affiliateId,
    ]);
    const before = await rowVersions(affiliateId);

    const lying = (snapshot: SourceSnapshot): RangeSource => ({
      digests: async () => {
        const digests = await snapshot.digests();
        for (const digest of digests.values()) digest.hash = '42';
        return digests;
      },
      rows: (ranges) => snapshot.rows(ranges),
      rowsChangedSince: (since) => snapshot.rowsChangedSince(since),
      deletionsSince: (after, limit) => snapshot.deletionsSince(after, limit),
    });
    const error = await assertFails(sync(affiliateId, lying), 'RECONCILIATION_FAILED');

    assert.match(error.message, /holds the source's \d+ rows but not with the same values/);
    assert.deepEqual(await rowVersions(affiliateId), before);
  });

  it('lists the source deletions of the range, and those whose event time is unknown', async () => {
    const affiliateId = nextAffiliate++;
    await insertSource(affiliateId, [
      ['inside', '2022-03-01T10:00:00Z'],
      ['outside', '2022-03-02T10:00:00Z'],
      ['old key', '2022-03-02T11:00:00Z'],
    ]);
    await store.pool.query(
      `DELETE FROM clicks WHERE affiliate_id = $1 AND id IN ('inside', 'outside')`,
      [affiliateId],
    );
    // A key changed by hand: the old key is recorded as deleted, with no event time.
    await store.pool.query(
      `UPDATE clicks SET id = 'new key' WHERE affiliate_id = $1 AND id = 'old key'`,
      [affiliateId],
    );

    const snapshot = await SourceSnapshot.open(store.pool, clicks, affiliateId, range);
    let text = '';
    try {
      const deletions = await snapshot.deletionsSince('0', 10);
      for await (const chunk of deletions.stream) text += String(chunk);
    } finally {
      await snapshot.close();
    }

    const ids = text
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0]);
    assert.deepEqual(ids.sort(), ['inside', 'old key']);
  });

  it("leaves other affiliates' rows alone in a mirror table partitioned by affiliate", async () => {
    // Regression: rows were once deleted by ctid, which each partition numbers on its own.
    await admin.query(`CREATE SCHEMA part;
      CREATE TABLE part.clicks (LIKE ${schema}.clicks INCLUDING ALL) PARTITION BY LIST (affiliate_id);
      CREATE TABLE part.clicks_a PARTITION OF part.clicks FOR VALUES IN (${nextAffiliate});
      CREATE TABLE part.clicks_b PARTITION OF part.clicks FOR VALUES IN (${nextAffiliate + 1});`);
    const partitioned = open({ schema: 'part' });
    await partitioned.ensureTables([clicks]);
    const affiliateId = nextAffiliate++;
    const neighbour = nextAffiliate++;
    await admin.query(
      `INSERT INTO part.clicks (affiliate_id, id, occurred_at, change_seq)
       SELECT $1, 'n' || i, '2022-03-01T06:00:00Z', 1 FROM generate_series(1, 300) AS i`,
      [neighbour],
    );
    await manyClicks(affiliateId, 300);
    const syncInto = async () => {
      const snapshot = await SourceSnapshot.open(store.pool, clicks, affiliateId, range);
      try {
        return await partitioned.syncRange!(clicks, affiliateId, range, snapshot, claim());
      } finally {
        await snapshot.close();
      }
    };
    await syncInto();

    await store.pool.query(
      `UPDATE clicks SET device = 'x' WHERE affiliate_id = $1 AND id = 'c10'`,
      [affiliateId],
    );
    await store.pool.query(`DELETE FROM clicks WHERE affiliate_id = $1 AND id = 'c11'`, [
      affiliateId,
    ]);
    const result = await syncInto();
    const neighbours = await admin.query(
      `SELECT count(*)::int AS n FROM part.clicks WHERE affiliate_id = $1`,
      [neighbour],
    );

    assert.equal(neighbours.rows[0].n, 300);
    assert.equal(result.rowsDeleted, 2);
    assert.equal(result.rowsWritten, 1);
    const held = await postgresCanonicalRows(admin, 'part.clicks', clicks, affiliateId, range);
    const wanted = await postgresCanonicalRows(store.pool, 'clicks', clicks, affiliateId, range);
    assert.deepEqual(held, wanted);
  });

  it('repairs an hour whose newest mirror row has a change_seq no source change has', async () => {
    const affiliateId = nextAffiliate++;
    await manyClicks(affiliateId, 100);
    await sync(affiliateId);
    await admin.query(
      `INSERT INTO ${schema}.clicks (affiliate_id, id, occurred_at, change_seq)
       VALUES ($1, 'stray', '2022-03-01T05:00:00Z', -1)`,
      [affiliateId],
    );
    await admin.query(`UPDATE ${schema}.clicks SET change_seq = -5 WHERE affiliate_id = $1`, [
      affiliateId,
    ]);

    await sync(affiliateId);

    await assertMirrorExact(affiliateId);
  });
});
