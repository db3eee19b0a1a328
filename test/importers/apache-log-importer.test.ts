import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { importApacheLog } from '../../src/importers/apache-log-importer.ts';
import type { ImportReport } from '../../src/importers/import-report.ts';
import { silentLogger } from '../../src/logger.ts';
import { createTestStore } from '../support/databases.ts';
import { snapshotTable } from './store-snapshot.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const realLog = path.resolve(repoRoot, '..', 'shared', 'data', 'apache', 'access.log');

const store = await createTestStore('apache_log_importer');
const logger = silentLogger();
const tempDir = await mkdtemp(path.join(os.tmpdir(), 'apache-log-'));
after(() => rm(tempDir, { recursive: true, force: true }));

async function addAffiliate(id: number): Promise<void> {
  await store.pool.query(`INSERT INTO affiliates (id, name) VALUES ($1, 'x')`, [id]);
}

describe('importing the real Apache access log', () => {
  const affiliateId = 7;
  let report: ImportReport;

  before(async () => {
    await addAffiliate(affiliateId);
    report = await importApacheLog(store.pool, { file: realLog, affiliateId, logger });
  });

  it('imports one page view per well-formed line and reports the cut-off line 8899', async () => {
    assert.equal(report.linesRead, 10_000);
    assert.equal(report.rowsImported.pageviews, 9_999);
    assert.deepEqual(report.skipped, [{ line: 8899, reason: 'not an Apache combined log line' }]);

    const stored = await snapshotTable(store.pool, 'pageviews', affiliateId);
    assert.equal(stored.rows, 9_999);
  });

  it('maps the first line onto the page view columns', async () => {
    const first = await store.pool.query(
      `SELECT occurred_at, ip, method, path, status_code, bytes::integer, referrer, user_agent
         FROM pageviews WHERE affiliate_id = $1 AND id LIKE 'ap-1-%'`,
      [affiliateId],
    );

    assert.deepEqual(first.rows, [
      {
        occurred_at: new Date('2015-05-17T10:05:03Z'),
        ip: '198.18.0.2',
        method: 'GET',
        path: '/presentations/logstash-monitorama-2013/images/kibana-search.png',
        status_code: 200,
        bytes: 203023,
        referrer: 'http://semicomplete.com/presentations/logstash-monitorama-2013/',
        user_agent:
          'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 ' +
          '(KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36',
      },
    ]);
  });

  it('stores "-" bytes and referrers as NULL', async () => {
    // Counted on the complete lines only: the cut-off line 8899 has a "-" referrer too.
    const lines = (await readFile(realLog, 'utf8'))
      .split('\n')
      .filter((line) => line.endsWith('"'));
    const noBytes = lines.filter((line) => / \d{3} - "/.test(line)).length;
    const noReferrer = lines.filter((line) => / (\d+|-) "-" "/.test(line)).length;

    const nulls = await store.pool.query(
      `SELECT count(*) FILTER (WHERE bytes IS NULL)::int AS bytes,
              count(*) FILTER (WHERE referrer IS NULL)::int AS referrer
         FROM pageviews WHERE affiliate_id = $1`,
      [affiliateId],
    );
    assert.ok(noBytes > 0 && noReferrer > 0);
    assert.deepEqual(nulls.rows[0], { bytes: noBytes, referrer: noReferrer });
  });

  it('changes nothing when the same log is imported again', async () => {
    const before = await snapshotTable(store.pool, 'pageviews', affiliateId);

    const repeat = await importApacheLog(store.pool, { file: realLog, affiliateId, logger });

    assert.deepEqual(repeat.rowsChanged, { pageviews: 0 });
    assert.equal(repeat.rowsImported.pageviews, 9_999);
    assert.deepEqual(await snapshotTable(store.pool, 'pageviews', affiliateId), before);
  });
});

describe('importing a small Apache log', () => {
  const affiliateId = 8;
  const tail = '"GET /a HTTP/1.1" 200 10 "-" "agent"';

  before(() => addAffiliate(affiliateId));

  async function importLines(name: string, lines: string[]): Promise<ImportReport> {
    const file = path.join(tempDir, name);
    await writeFile(file, lines.join('\n') + '\n');
    return importApacheLog(store.pool, { file, affiliateId, logger });
  }

  it('honours the offset of each line: 10:05:03 +0200 is 08:05:03 UTC', async () => {
    const request = (path: string) => `"GET ${path} HTTP/1.1" 200 10 "-" "agent"`;
    await importLines('offsets.log', [
      `198.18.0.9 - - [17/May/2015:10:05:03 +0200] ${request('/plus-two')}`,
      `198.18.0.9 - - [17/May/2015:10:05:03 -0700] ${request('/minus-seven')}`,
    ]);

    const times = await store.pool.query<{ path: string; occurred_at: Date }>(
      `SELECT path, occurred_at FROM pageviews
        WHERE affiliate_id = $1 AND path IN ('/plus-two', '/minus-seven') ORDER BY path`,
      [affiliateId],
    );
    assert.deepEqual(times.rows, [
      { path: '/minus-seven', occurred_at: new Date('2015-05-17T17:05:03Z') },
      { path: '/plus-two', occurred_at: new Date('2015-05-17T08:05:03Z') },
    ]);
  });

  it('skips malformed lines with their numbers and keeps the good ones', async () => {
    const report = await importLines('malformed.log', [
      `198.18.0.9 - - [17/May/2015:10:05:03 +0000] ${tail}`,
      'this is not a log line',
      `198.18.0.9 - - [17/Foo/2015:10:05:03 +0000] ${tail}`,
      '',
      `198.18.0.9 - - [17/May/2015:10:05:03 +0000] "-" 408 - "-" "-"`,
      `198.18.0.9 - - [17/May/2015:10:05:04 +0000] ${tail}`,
    ]);

    assert.equal(report.linesRead, 6);
    assert.equal(report.rowsImported.pageviews, 2);
    assert.deepEqual(
      report.skipped.map((skip) => skip.line),
      [2, 3, 4, 5],
    );
    assert.match(report.skipped[1]?.reason ?? '', /time "17\/Foo\/2015/);
  });

  it('strips NUL bytes from the user agent and counts them', async () => {
    const report = await importLines('nul.log', [
      `198.18.0.9 - - [17/May/2015:10:05:03 +0000] "GET /nul HTTP/1.1" 200 1 "-" "bad\0agent"`,
    ]);

    assert.equal(report.nulBytesStripped, 1);
    const agent = await store.pool.query(
      `SELECT user_agent FROM pageviews WHERE affiliate_id = $1 AND path = '/nul'`,
      [affiliateId],
    );
    assert.equal(agent.rows[0].user_agent, 'badagent');
  });
});
