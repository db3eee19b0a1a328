import path from 'node:path';
import pg from 'pg';
import { silentLogger } from '../src/logger.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { eventTables } from '../src/mirror/tables.ts';
import { columnDefinitions } from '../src/destinations/postgres/ddl.ts';
import { rowHashSql } from '../src/sql/range-digest.ts';

const server = await startEmbeddedPostgres({ dataDir: path.resolve('.test-data'), port: 54339, logger: silentLogger() });
const client = new pg.Client({ connectionString: server.connectionString });
await client.connect();
const t = eventTables.clicks;
await client.query('DROP TABLE IF EXISTS hx');
await client.query(`CREATE TABLE hx (${columnDefinitions(t)})`);
const cols = t.columns.map((c) => c.name);
const gen = t.columns.map((c) => {
  if (c.name === 'affiliate_id') return '1';
  if (c.name === 'id') return `'click-' || g`;
  if (c.type === 'timestamptz') return `timestamptz '2024-01-01' + g * interval '1 second'`;
  if (c.type === 'bigint') return 'g';
  if (c.type === 'integer') return '(g % 1000)::int';
  if (c.type === 'boolean') return '(g % 2 = 0)';
  if (c.type === 'money') return '(g % 1000)::numeric / 7';
  return `CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text) END`;
});
await client.query(`INSERT INTO hx (${cols.map((c) => `"${c}"`).join(',')}) SELECT ${gen.join(',')} FROM generate_series(1, 1000000) g`);
await client.query('VACUUM ANALYZE hx');
console.log(t.columns.map((c) => `${c.name}:${c.type}`).join(' '));
async function time(label: string, expr: string) {
  await client.query(`SELECT sum(${expr}) FROM hx`);
  const times = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    const r = await client.query(`SELECT sum(${expr})::text AS h FROM hx`);
    times.push(performance.now() - s);
    if (i === 0) console.log(label, r.rows[0].h);
  }
  console.log(label, times.map((x) => x.toFixed(0)).join(' '));
}
await client.query('SET max_parallel_workers_per_gather = 0');
await client.query(`CREATE INDEX ON hx (affiliate_id, occurred_at)`);
await client.query(`ALTER TABLE hx ADD PRIMARY KEY (affiliate_id, id)`);
await client.query('VACUUM ANALYZE hx');
const { rangeDigestSql } = await import('../src/sql/range-digest.ts');
const narrow = `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00.000000"Z"') AS bucket, rows, hash, max_seq
  FROM (SELECT hour, count(*)::int AS rows, sum(row_hash)::text AS hash, max(change_seq)::text AS max_seq
          FROM (SELECT date_trunc('hour', occurred_at) AS hour, ${rowHashSql(t)} AS row_hash, change_seq
                  FROM hx WHERE affiliate_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz) AS r
         GROUP BY 1) AS hours`;
async function run(label: string, sql: string, settings: string[]) {
  for (let i = 0; i < 3; i++) {
    await client.query('BEGIN');
    await client.query("SET LOCAL TimeZone='UTC'");
    for (const st of settings) await client.query(st);
    const s = performance.now();
    const r = await client.query(sql, [1, '2024-01-02T00:00:00Z', '2024-01-05T18:00:00Z']);
    const ms = performance.now() - s;
    if (i === 2) {
      const plan = await client.query('EXPLAIN ' + sql.replace('$1', '1').replace('$2::timestamptz', "'2024-01-02T00:00:00Z'::timestamptz").replace('$3::timestamptz', "'2024-01-05T18:00:00Z'::timestamptz"));
      console.log(label, r.rows.length, ms.toFixed(0), 'ms', plan.rows.map((x) => x['QUERY PLAN']).filter((l: string) => /Aggregate|Sort/.test(l)).map((l: string) => l.trim().slice(0, 40)).join(' | '), JSON.stringify(r.rows[5]));
    }
    await client.query('COMMIT');
  }
}
await run('original', rangeDigestSql('hx', t), []);
await run('original+nosort', rangeDigestSql('hx', t), ['SET LOCAL enable_sort = off']);
await run('narrow', narrow, []);
await run('narrow+nosort', narrow, ['SET LOCAL enable_sort = off']);
await time('record', `hash_record_extended(ROW(${cols.map((c) => `"${c}"`).join(',')}), 0)`);
await time('count only', '1');
await client.query('DROP TABLE hx');
await client.end();
await server.stop();
