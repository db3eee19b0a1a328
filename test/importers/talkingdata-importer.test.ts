import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { AppError } from '../../src/errors.ts';
import type { ImportReport } from '../../src/importers/import-report.ts';
import { importTalkingData } from '../../src/importers/talkingdata-importer.ts';
import { silentLogger } from '../../src/logger.ts';
import { createTestStore } from '../support/databases.ts';
import { snapshotTable, type TableSnapshot } from './store-snapshot.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const realFile = path.resolve(repoRoot, '..', 'shared', 'data', 'talkingdata', 'train_sample.csv');
const HEADER = 'ip,app,device,os,channel,click_time,attributed_time,is_attributed';
const TABLES = ['clicks', 'conversions', 'brands', 'traffic_sources'];

const store = await createTestStore('talkingdata_importer');
const logger = silentLogger();
const tempDir = await mkdtemp(path.join(os.tmpdir(), 'talkingdata-'));
after(() => rm(tempDir, { recursive: true, force: true }));

async function addAffiliate(id: number): Promise<void> {
  await store.pool.query(`INSERT INTO affiliates (id, name) VALUES ($1, 'x')`, [id]);
}

async function snapshots(affiliateId: number): Promise<Record<string, TableSnapshot>> {
  const entries = await Promise.all(
    TABLES.map(async (table) => [table, await snapshotTable(store.pool, table, affiliateId)]),
  );
  return Object.fromEntries(entries) as Record<string, TableSnapshot>;
}

async function tempFile(name: string, lines: string[]): Promise<string> {
  const file = path.join(tempDir, name);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

describe('importing the real TalkingData sample', () => {
  const affiliateId = 7;
  let report: ImportReport;

  before(async () => {
    await addAffiliate(affiliateId);
    report = await importTalkingData(store.pool, { file: realFile, affiliateId, logger });
  });

  it('imports 100,000 clicks and 227 conversions and skips no line', async (t) => {
    t.diagnostic(`100k-line import took ${report.durationMs} ms`);

    assert.equal(report.linesRead, 100_000);
    assert.equal(report.skippedCount, 0);
    assert.equal(report.rowsImported.clicks, 100_000);
    assert.equal(report.rowsImported.conversions, 227);
    const counts = await snapshots(affiliateId);
    assert.equal(counts.clicks?.rows, 100_000);
    assert.equal(counts.conversions?.rows, 227);
  });

  it('creates 161 brands and 161 traffic sources with placeholder names', async () => {
    const counts = await snapshots(affiliateId);
    assert.equal(counts.brands?.rows, 161);
    assert.equal(counts.traffic_sources?.rows, 161);

    const names = await store.pool.query(
      `SELECT (SELECT name FROM brands WHERE affiliate_id = $1 AND id = '12') AS brand,
              (SELECT name FROM traffic_sources WHERE affiliate_id = $1 AND id = '245') AS source`,
      [affiliateId],
    );
    assert.deepEqual(names.rows[0], { brand: 'App 12', source: 'Channel 245' });
  });

  it('reads click_time as UTC: clicks span 2017-11-06 16:00 .. 11-09 16:00', async () => {
    const span = await store.pool.query(
      `SELECT min(occurred_at) AS first, max(occurred_at) AS last
         FROM clicks WHERE affiliate_id = $1`,
      [affiliateId],
    );
    assert.ok(span.rows[0].first >= new Date('2017-11-06T16:00:00Z'));
    assert.ok(span.rows[0].last <= new Date('2017-11-09T16:00:00Z'));
  });

  it('maps the first data line (line 2) onto the click columns', async () => {
    const click = await store.pool.query(
      `SELECT occurred_at, brand_id, traffic_source_id, ip, device, os
         FROM clicks WHERE affiliate_id = $1 AND id LIKE 'td-2-%'`,
      [affiliateId],
    );
    assert.deepEqual(click.rows, [
      {
        occurred_at: new Date('2017-11-07T09:30:38Z'),
        brand_id: '12',
        traffic_source_id: '497',
        ip: '87540',
        device: '1',
        os: '13',
      },
    ]);
  });

  it('keeps the identical pair (lines 64364 and 84127) as two distinct clicks', async () => {
    const pair = await store.pool.query(
      `SELECT id FROM clicks
        WHERE affiliate_id = $1 AND ip = '871' AND brand_id = '12' AND traffic_source_id = '178'
          AND occurred_at = '2017-11-08T10:00:05Z'
        ORDER BY id`,
      [affiliateId],
    );
    assert.equal(pair.rowCount, 2);
    assert.match(pair.rows[1].id, /^td-84127-[0-9a-f]{12}$/);
    assert.match(pair.rows[0].id, /^td-64364-[0-9a-f]{12}$/);
  });

  it('links each conversion to its click, at attributed_time', async () => {
    const linked = await store.pool.query(
      `SELECT count(*)::int AS n FROM conversions c
         JOIN clicks k ON k.affiliate_id = c.affiliate_id AND k.id = c.click_id
        WHERE c.affiliate_id = $1 AND c.brand_id = k.brand_id
          AND c.traffic_source_id = k.traffic_source_id AND c.occurred_at >= k.occurred_at`,
      [affiliateId],
    );
    assert.equal(linked.rows[0].n, 227);

    const conversion = await store.pool.query(
      `SELECT c.occurred_at, c.status, c.amount, c.currency, c.brand_id, c.traffic_source_id
         FROM conversions c JOIN clicks k ON k.affiliate_id = c.affiliate_id AND k.id = c.click_id
        WHERE c.affiliate_id = $1 AND k.ip = '224120' AND k.occurred_at = '2017-11-08T02:22:13Z'`,
      [affiliateId],
    );
    assert.deepEqual(conversion.rows, [
      {
        occurred_at: new Date('2017-11-08T02:22:38Z'),
        status: 'approved',
        amount: null,
        currency: null,
        brand_id: '19',
        traffic_source_id: '213',
      },
    ]);
  });

  it('changes nothing when the same file is imported again', async () => {
    const beforeRepeat = await snapshots(affiliateId);

    const repeat = await importTalkingData(store.pool, { file: realFile, affiliateId, logger });

    assert.deepEqual(repeat.rowsImported, report.rowsImported);
    assert.deepEqual(repeat.rowsChanged, {
      brands: 0,
      traffic_sources: 0,
      clicks: 0,
      conversions: 0,
    });
    assert.deepEqual(await snapshots(affiliateId), beforeRepeat);
  });
});

describe('importing a TalkingData file with malformed lines', () => {
  it('skips each bad line with its number and reason and keeps the good ones', async () => {
    const affiliateId = 8;
    await addAffiliate(affiliateId);
    const file = await tempFile('malformed.csv', [
      HEADER,
      '87540,12,1,13,497,2017-11-07 09:30:38,,0',
      '87540,12,1,13,497,2017-11-07 09:30:38,0',
      '87540,12,1,13,497,2017-13-07 09:30:38,,0',
      '87540,12,1,13,497,2017-11-07 09:30:38,,1',
      '',
      '224120,19,0,29,213,2017-11-08 02:22:13,2017-11-08 02:22:38,1',
      'ip,app,device,os,channel,click_time,attributed_time,is_attributed',
    ]);

    const report = await importTalkingData(store.pool, { file, affiliateId, logger });

    assert.equal(report.linesRead, 7);
    assert.deepEqual(report.skipped, [
      { line: 3, reason: 'expected 8 columns, found 7' },
      { line: 4, reason: 'click_time "2017-13-07 09:30:38" is not a time YYYY-MM-DD HH:MM:SS' },
      { line: 5, reason: 'is_attributed is 1 but attributed_time is empty' },
      { line: 6, reason: 'empty line' },
      { line: 8, reason: 'ip "ip" is not a whole number' },
    ]);
    assert.equal(report.skippedCount, 5);
    const counts = await snapshots(affiliateId);
    assert.equal(counts.clicks?.rows, 2);
    assert.equal(counts.conversions?.rows, 1);
  });

  it('reads a file with a byte order mark and CRLF line ends', async () => {
    const affiliateId = 9;
    await addAffiliate(affiliateId);
    const file = path.join(tempDir, 'windows.csv');
    await writeFile(file, `\uFEFF${HEADER}\r\n87540,12,1,13,497,2017-11-07 09:30:38,,0\r\n`);

    const report = await importTalkingData(store.pool, { file, affiliateId, logger });

    assert.equal(report.rowsImported.clicks, 1);
    assert.equal(report.skippedCount, 0);
  });

  it('refuses a file whose header lacks a column', async () => {
    const file = await tempFile('no-header.csv', ['87540,12,1,13,497,2017-11-07 09:30:38,,0']);

    await assert.rejects(
      importTalkingData(store.pool, { file, affiliateId: 7, logger }),
      (error: unknown) => error instanceof AppError && error.code === 'VALIDATION_FAILED',
    );
  });

  it('refuses an affiliate that does not exist', async () => {
    await assert.rejects(
      importTalkingData(store.pool, { file: realFile, affiliateId: 404, logger }),
      (error: unknown) => error instanceof AppError && error.code === 'AFFILIATE_NOT_FOUND',
    );
  });
});
