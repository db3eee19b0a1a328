/**
 * `affiliate-mirror import ...` as a user runs it: a real process on a real store. Its exit code
 * is what scripts and operators go by.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { createTestStore } from '../support/databases.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const store = await createTestStore('import_command');
await store.pool.query(`INSERT INTO affiliates (id, name) VALUES (5, 'importer')`);
const tempDir = await mkdtemp(path.join(os.tmpdir(), 'import-command-'));
after(() => rm(tempDir, { recursive: true, force: true }));

function runImport(importer: string, file: string) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'import', importer, file, '--affiliate', '5'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: store.url, LOG_LEVEL: 'warn' },
    },
  );
}

describe('affiliate-mirror import', () => {
  test('a file with no line the importer can read exits 1 saying so, after its summary', async () => {
    const csv = path.join(tempDir, 'clicks.csv');
    await writeFile(csv, 'ip,app,device\n1,2,3\n4,5,6\n');

    const result = runImport('apache-log', csv);

    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /Skipped lines: 3/);
    assert.match(
      result.stderr,
      /VALIDATION_FAILED: file: none of the 3 lines of .*clicks\.csv could be imported/,
    );
  });

  test('a file with some lines skipped exits 0, listing them', async () => {
    const log = path.join(tempDir, 'access.log');
    const line =
      '203.0.113.9 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 512 "-" "curl/8"';
    await writeFile(log, `${line}\nnot a log line\n`);

    const result = runImport('apache-log', log);

    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /pageviews: 1 rows/);
    assert.match(result.stdout, /line 2: not an Apache combined log line/);
  });
});
