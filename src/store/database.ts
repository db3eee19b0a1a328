import pg from 'pg';

import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { keepErrorsOffTheProcess } from '../sql/pg-client-errors.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.ts';
import { migrate } from './migrate.ts';

// int8 (bigint) and numeric come back as strings by default; our counters fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Store {
  pool: pg.Pool;
  /** Kept for pg-boss, which opens its own pool; never log it. */
  connectionString: string;
  close(): Promise<void>;
}

/**
 * Opens the platform store: `DATABASE_URL` when set, otherwise the embedded PostgreSQL in the
 * data dir. Migrations run before the store is handed out.
 */
export async function openStore(config: Config, logger: Logger): Promise<Store> {
  let embedded: EmbeddedServer | undefined;
  let connectionString = config.databaseUrl;

  if (!connectionString) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      logger,
    });
    connectionString = embedded.connectionString;
  }

  const pool = new pg.Pool({ connectionString, max: 10, application_name: 'affiliate-mirror' });
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle store connection failed'));
  pool.on('connect', keepErrorsOffTheProcess);

  try {
    await migrate(pool, logger);
  } catch (error: unknown) {
    await pool.end();
    await embedded?.stop();
    throw error;
  }

  return {
    pool,
    connectionString,
    close: async () => {
      await pool.end();
      await embedded?.stop();
    },
  };
}
