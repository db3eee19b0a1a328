import { randomBytes } from 'node:crypto';
import { after } from 'node:test';

import pg from 'pg';

import { silentLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';

/** The server `npm test` started (or was given); every test file makes its own databases on it. */
export function testServerUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`.');
  return url;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Creates an empty database for this test file and drops it when the file's tests end,
 * whether they passed or not.
 */
export async function createTestDatabase(
  label: string,
  options: { serverUrl?: string; dropAfterTests?: boolean } = {},
) {
  const serverUrl = options.serverUrl ?? testServerUrl();
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const url = withDatabase(serverUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  // Dropping the database ends idle connections; that is expected, not a test failure.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));

  const drop = async () => {
    await pool.end();
    const cleaner = new pg.Client({ connectionString: serverUrl });
    await cleaner.connect();
    await cleaner.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleaner.end();
  };
  if (options.dropAfterTests !== false) after(drop);

  return { name, url, pool, drop };
}

/** A migrated platform store in a database of its own. */
export async function createTestStore(label: string, options: { dropAfterTests?: boolean } = {}) {
  const database = await createTestDatabase(label, options);
  await migrate(database.pool, silentLogger());
  return database;
}

/** The parts of a database URL a connector is made of. */
export function connectionFields(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    database: parsed.pathname.slice(1),
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}
