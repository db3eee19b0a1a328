/**
 * `npm test`: starts one PostgreSQL for the whole run (the embedded one, unless
 * TEST_DATABASE_URL names a server), then runs every test file with node's test runner.
 * Each test file creates its own databases on that server and drops them when it ends.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { silentLogger } from '../src/logger.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';

const TEST_POSTGRES_PORT = 54339;

function findTestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

const testDir = path.dirname(new URL(import.meta.url).pathname);
const filters = process.argv.slice(2);
// Filters match the path inside test/, so that the checkout's own path never matches them.
const files = findTestFiles(testDir).filter(
  (file) =>
    filters.length === 0 || filters.some((filter) => path.relative(testDir, file).includes(filter)),
);

let serverUrl = process.env.TEST_DATABASE_URL;
const embedded = serverUrl
  ? undefined
  : await startEmbeddedPostgres({
      dataDir: path.resolve(testDir, '..', '.test-data'),
      port: Number(process.env.TEST_POSTGRES_PORT ?? TEST_POSTGRES_PORT),
      logger: silentLogger(),
    });
serverUrl ??= embedded!.connectionString;

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, TEST_DATABASE_URL: serverUrl } },
);

const exitCode = await new Promise<number>((resolve) =>
  child.on('exit', (code) => resolve(code ?? 1)),
);
await embedded?.stop();
process.exit(exitCode);
