/**
 * The PostgreSQL the bench measures on: the embedded server (in `.bench-data` of the checkout)
 * with the platform store in one database and, unless `--destination` names another server,
 * the destination in a second database of the same server. Both are made fresh for each run
 * and dropped at its end.
 */
import path from 'node:path';

import pg from 'pg';

import { loadConfig } from '../src/config.ts';
import type { Logger } from '../src/logger.ts';
import { keepErrorsOffTheProcess } from '../src/sql/pg-client-errors.ts';
import { openStore, type Store } from '../src/store/database.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import type { Cleanup } from './cleanup.ts';

const STORE_DATABASE = 'bench_store';
const DESTINATION_DATABASE = 'bench_destination';

export interface BenchServer {
  store: Store;
  storeUrl: string;
  destinationUrl: string;
  /** A pool on the destination database, for the baselines and the lag probe. */
  destination: pg.Pool;
  /** "second database on the embedded server" or "the server given with --destination". */
  destinationKind: string;
  postgresVersion: string;
  /** The server settings that matter most for bulk loads, as `name=value` pairs. */
  postgresSettings: string;
}

const REPORTED_SETTINGS = [
  'shared_buffers',
  'work_mem',
  'maintenance_work_mem',
  'max_wal_size',
  'synchronous_commit',
  'fsync',
];

export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function adminQuery(serverUrl: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates `name` afresh (a crashed earlier run may have left it) and drops it at cleanup. */
async function freshDatabase(serverUrl: string, name: string, cleanup: Cleanup) {
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  cleanup.add(`database ${name}`, async () => {
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return withDatabase(serverUrl, name);
}

export interface BenchServerOptions {
  repoDir: string;
  port: number;
  destinationUrl?: string;
  logger: Logger;
}

export async function startBenchServer(options: BenchServerOptions, cleanup: Cleanup) {
  const embedded = await startEmbeddedPostgres({
    dataDir: path.join(options.repoDir, '.bench-data'),
    port: options.port,
    logger: options.logger,
  });
  // The bench undoes what it started, even if a process it ran left a connection behind.
  cleanup.add('the embedded PostgreSQL', () => embedded.stop({ evenIfInUse: true }));

  const storeUrl = await freshDatabase(embedded.connectionString, STORE_DATABASE, cleanup);
  const destinationUrl =
    options.destinationUrl ??
    (await freshDatabase(embedded.connectionString, DESTINATION_DATABASE, cleanup));

  const store = await openStore(loadConfig({ DATABASE_URL: storeUrl }), options.logger);
  cleanup.add('the store pool', () => store.close());
  const destination = new pg.Pool({ connectionString: destinationUrl, max: 4 });
  // A server that goes away (stopped by hand, say) ends every connection: an idle one must
  // not take the bench down before it has cleaned up.
  destination.on('error', () => undefined);
  destination.on('connect', keepErrorsOffTheProcess);
  cleanup.add('the destination pool', () => destination.end());

  const version = await store.pool.query<{ v: string }>(
    `SELECT current_setting('server_version') AS v`,
  );
  const settings = await destination.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1)`,
    [REPORTED_SETTINGS],
  );
  return {
    store,
    storeUrl,
    destinationUrl,
    destination,
    destinationKind: options.destinationUrl
      ? 'the server given with --destination'
      : 'a second database on the embedded server',
    postgresVersion: version.rows[0]!.v,
    postgresSettings: settings.rows.map((row) => `${row.name}=${row.setting}`).join(', '),
  } satisfies BenchServer;
}
