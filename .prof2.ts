import pg from 'pg';
import pino from 'pino';
import { startEmbeddedPostgres } from './src/store/embedded-postgres.ts';
import { migrate } from './src/store/migrate.ts';
import { silentLogger } from './src/logger.ts';
import { importTalkingData } from './src/importers/talkingdata-importer.ts';
import { importApacheLog } from './src/importers/apache-log-importer.ts';
const server = await startEmbeddedPostgres({ dataDir: '/tmp/probe/pgdata', port: 54400, logger: silentLogger() });
try {
const admin = new pg.Client({ connectionString: server.connectionString }); await admin.connect();
await admin.query('DROP DATABASE IF EXISTS prof'); await admin.query('CREATE DATABASE prof'); await admin.end();
const url = new URL(server.connectionString); url.pathname = '/prof';
const pool = new pg.Pool({ connectionString: url.toString(), max: 5 });
await migrate(pool, silentLogger());
await pool.query(`INSERT INTO affiliates (id, name) VALUES (7, 'x')`);
const logger = silentLogger();
const file = '/work/shared/data/talkingdata/train_sample.csv';
for (let i = 0; i < 2; i++) {
  const r = await importTalkingData(pool, { file, affiliateId: 7, logger });
  console.log('td run', i, r.durationMs, r.rowsChanged);
}
for (let i = 0; i < 2; i++) {
  const r = await importApacheLog(pool, { file: '/work/shared/data/apache/access.log', affiliateId: 7, logger });
  console.log('apache run', i, r.durationMs, r.rowsChanged, r.skipped);
}
await pool.end();
} catch (e) { console.log(e); } finally { await server.stop(); }
