import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type pg from 'pg';

import type { Logger } from '../logger.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Any fixed number works; it only has to be the same in every process of the service. */
const MIGRATION_LOCK_KEY = 7_411_201;

interface Migration {
  version: number;
  name: string;
  sql: string;
}

async function readMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql')).sort();

  return Promise.all(
    files.map(async (file) => ({
      version: Number.parseInt(file, 10),
      name: file,
      sql: await readFile(path.join(MIGRATIONS_DIR, file), 'utf8'),
    })),
  );
}

/**
 * Brings the platform store's schema up to date. Safe to run from several processes at once:
 * an advisory lock makes them take turns, and each migration commits with its version row.
 */
export async function migrate(pool: pg.Pool, logger: Logger): Promise<number> {
  const migrations = await readMigrations();
  const client = await pool.connect();

  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);

    const applied = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations',
    );
    const done = new Set(applied.rows.map((row) => row.version));
    let count = 0;

    for (const migration of migrations.filter((m) => !done.has(m.version))) {
      await client.query('BEGIN');
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      await client.query('COMMIT');
      logger.info({ migration: migration.name }, 'applied migration');
      count += 1;
    }
    return count;
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    client.release();
  }
}
