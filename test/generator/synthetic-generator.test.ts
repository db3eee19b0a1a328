import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';

import { AppError } from '../../src/errors.ts';
import { generateSyntheticData } from '../../src/importers/synthetic-generator.ts';
import { silentLogger } from '../../src/logger.ts';
import { allTables, columnNames } from '../../src/mirror/tables.ts';
import { createTestStore } from '../support/databases.ts';

const store = await createTestStore('synthetic_generator');
const CLICKS = 20_000;
const DAYS = 3;
const START = new Date('2025-01-01T00:00:00Z');
const END = new Date(START.getTime() + DAYS * 86_400_000);

await store.pool.query(
  `INSERT INTO affiliates (id, name) SELECT id, 'Affiliate ' || id FROM unnest($1::int[]) id`,
  [[1, 2, 3]],
);

function generate(affiliateId: number, seed: number, batchRows?: number) {
  return generateSyntheticData(store.pool, {
    affiliateId,
    clicks: CLICKS,
    days: DAYS,
    seed,
    start: START,
    logger: silentLogger(),
    batchRows,
  });
}

/** Per table: md5 over every row's values except the affiliate and the change tracking. */
async function checksums(affiliateId: number): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const table of allTables) {
    const columns = columnNames(table).filter(
      (name) => !['affiliate_id', 'change_seq'].includes(name),
    );
    const result = await store.pool.query<{ sum: string }>(
      `SELECT md5(string_agg(row(${columns.join(', ')})::text, E'\\n' ORDER BY id)) AS sum
         FROM ${table.name} WHERE affiliate_id = $1`,
      [affiliateId],
    );
    sums[table.name] = result.rows[0]!.sum;
  }
  return sums;
}

async function scalar(sql: string, values: unknown[] = [1]): Promise<number> {
  const result = await store.pool.query<{ value: string }>(sql, values);
  return Number(result.rows[0]!.value);
}

// Small batches for the first run, the default for the second: rows must not depend on them.
const firstRun = await generate(1, 7, 7_000);
const sameSeedRun = await generate(2, 7);
await generate(3, 8);

describe('synthetic data generator', () => {
  test('makes the expected number of rows in every table', () => {
    const rows = firstRun.rowsInserted;

    assert.deepEqual(
      [rows.brands, rows.programs, rows.accounts, rows.traffic_sources, rows.links],
      [20, 60, 10, 30, 300],
    );
    assert.equal(rows.clicks, CLICKS);
    assert.equal(rows.pageviews, CLICKS * 1.5);
    assert.ok(rows.conversions! >= CLICKS * 0.02 && rows.conversions! <= CLICKS * 0.04);
  });

  test('the same seed gives identical rows, ids included, whatever the batch size', async () => {
    assert.deepEqual(sameSeedRun.rowsInserted, firstRun.rowsInserted);
    assert.deepEqual(await checksums(2), await checksums(1));
  });

  test('a different seed gives different rows', async () => {
    const [seven, eight] = [await checksums(1), await checksums(3)];

    for (const table of allTables) assert.notEqual(eight[table.name], seven[table.name]);
    assert.equal(
      await scalar(`SELECT count(*) AS value FROM clicks WHERE affiliate_id = $1 AND id = 'g8-c1'`),
      0,
    );
  });

  test('a repeated run adds nothing and changes nothing', async () => {
    const before = await checksums(1);
    const again = await generate(1, 7);

    assert.ok(Object.values(again.rowsInserted).every((rows) => rows === 0));
    assert.deepEqual(await checksums(1), before);
  });

  test('a run that stopped part way is completed by running it again', async () => {
    const before = await checksums(1);
    await store.pool.query(`DELETE FROM clicks WHERE affiliate_id = 1 AND id LIKE 'g7-c1%'`);
    await store.pool.query(`DELETE FROM conversions WHERE affiliate_id = 1`);

    const resumed = await generate(1, 7);

    assert.equal(resumed.rowsInserted.clicks, 1 + 10 + 100 + 1_000 + 10_000);
    assert.equal(resumed.rowsInserted.conversions, firstRun.rowsInserted.conversions);
    assert.deepEqual(await checksums(1), before);
  });

  test('every event lies within the days, to the microsecond', async () => {
    for (const table of ['clicks', 'conversions', 'pageviews']) {
      const outside = await scalar(
        `SELECT count(*) AS value FROM ${table}
          WHERE affiliate_id = $1 AND (occurred_at < $2 OR occurred_at >= $3)`,
        [1, START, END],
      );
      assert.equal(outside, 0, table);
    }
    const withMicros = await scalar(
      `SELECT count(*) AS value FROM clicks
        WHERE affiliate_id = $1 AND extract(microseconds FROM occurred_at)::bigint % 1000 <> 0`,
    );
    assert.ok(withMicros > CLICKS / 2);
  });

  test('every conversion comes after its click and shares its program', async () => {
    const wrong = await scalar(
      `SELECT count(*) AS value FROM conversions v
         LEFT JOIN clicks c ON c.affiliate_id = v.affiliate_id AND c.id = v.click_id
        WHERE v.affiliate_id = $1
          AND (c.id IS NULL OR v.occurred_at <= c.occurred_at OR v.program_id <> c.program_id)`,
    );
    assert.equal(wrong, 0);

    const statuses = await store.pool.query<{ status: string }>(
      `SELECT DISTINCT status FROM conversions WHERE affiliate_id = 1 ORDER BY status`,
    );
    assert.deepEqual(
      statuses.rows.map((row) => row.status),
      ['approved', 'pending', 'rejected'],
    );
  });

  test('events name dimension rows that exist', async () => {
    const dangling = await scalar(
      `SELECT count(*) AS value FROM clicks c
        WHERE c.affiliate_id = $1 AND (
          NOT EXISTS (SELECT 1 FROM links l WHERE l.affiliate_id = c.affiliate_id
                         AND l.id = c.link_id AND l.program_id = c.program_id
                         AND l.traffic_source_id = c.traffic_source_id)
          OR NOT EXISTS (SELECT 1 FROM programs p WHERE p.affiliate_id = c.affiliate_id
                         AND p.id = c.program_id AND p.brand_id = c.brand_id))`,
    );
    assert.equal(dangling, 0);
  });

  test('clicks follow a daily rhythm: evenings are busier than mornings', async () => {
    const evening = await scalar(
      `SELECT count(*) AS value FROM clicks
        WHERE affiliate_id = $1 AND extract(hour FROM occurred_at AT TIME ZONE 'UTC') = 20`,
    );
    const morning = await scalar(
      `SELECT count(*) AS value FROM clicks
        WHERE affiliate_id = $1 AND extract(hour FROM occurred_at AT TIME ZONE 'UTC') = 8`,
    );
    assert.ok(evening > 2 * morning, `${evening} at 20:00, ${morning} at 08:00`);
  });
});

describe('affiliate-mirror generate', () => {
  test('refuses bad arguments naming the option and what is valid', () => {
    const main = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', main, 'generate', '--affiliate', '1', '--clicks', 'many', '--days', '3'],
      { encoding: 'utf8' },
    );

    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /--clicks <count>.*must be an integer from 1 to 1000000000/);
  });

  test('refuses days outside the years reloads cover, writing nothing', async () => {
    for (const [start, days] of [
      ['1899-12-31', 1],
      ['2999-12-31', 2],
    ] as const) {
      await assert.rejects(
        generateSyntheticData(store.pool, {
          affiliateId: 3,
          clicks: 10,
          days,
          seed: 77,
          start: new Date(`${start}T00:00:00Z`),
          logger: silentLogger(),
        }),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === 'VALIDATION_FAILED' &&
          /must lie between 1900-01-01 and 2999-12-31/.test(error.message),
        start,
      );
    }
    const written = await store.pool.query(
      `SELECT count(*)::int AS n FROM clicks WHERE id LIKE 'g77-%'`,
    );
    assert.equal(written.rows[0].n, 0);
  });
});
