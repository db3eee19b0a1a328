/**
 * What the reload is compared with, on the same rows and the same destination server, each
 * into an empty table of the mirror's shape (same columns, primary key and index):
 * - the ceiling: one plain `COPY ... FROM STDIN`, fed the store's own COPY OUT text through
 *   node, as the reload is;
 * - a naive baseline: a cursor on the store and multi-row INSERTs of 1,000 rows each;
 * - a peer: pgloader reading the same COPY text on its stdin, when it is installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';

import type { TimeRange } from '../src/destinations/destination.ts';
import { copyRows } from '../src/destinations/postgres/bulk-load.ts';
import { createIndexSql, createTableSql } from '../src/destinations/postgres/ddl.ts';
import { columnNames, eventTables } from '../src/mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../src/sql/postgres-identifiers.ts';
import { readEventRows } from '../src/store/source-rows.ts';
import { connectionFields } from './api-client.ts';
import type { Cleanup } from './cleanup.ts';

const clicks = eventTables.clicks;
const INSERT_BATCH_ROWS = 1_000;

export interface BaselineMeasurement {
  label: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

export interface BaselineRun {
  store: pg.Pool;
  destination: pg.Pool;
  destinationUrl: string;
  affiliateId: number;
  range: TimeRange;
  cleanup: Cleanup;
}

/** A schema of the bench's own at the destination, empty, dropped again at cleanup. */
export async function freshSchema(pool: pg.Pool, schema: string, cleanup: Cleanup) {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
  await pool.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
  cleanup.add(`schema ${schema}`, async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
  });
}

/** An empty clicks table in a fresh schema, made by the destination's own DDL. */
async function emptyClicksTable(run: BaselineRun, schema: string): Promise<string> {
  await freshSchema(run.destination, schema, run.cleanup);
  await run.destination.query(createTableSql(schema, clicks));
  await run.destination.query(createIndexSql(schema, clicks)!);
  return qualifiedName(schema, clicks.name);
}

function measured(label: string, rows: number, started: number): BaselineMeasurement {
  const seconds = (performance.now() - started) / 1000;
  return { label, rows, seconds, rowsPerSecond: rows / seconds };
}

export async function measureCopy(run: BaselineRun): Promise<BaselineMeasurement> {
  const target = await emptyClicksTable(run, 'bench_copy');
  const client = await run.destination.connect();
  try {
    const started = performance.now();
    const source = await readEventRows(run.store, clicks, run.affiliateId, run.range);
    const rows = await copyRows(client, target, clicks, source.stream);
    return measured('plain COPY (ceiling)', rows, started);
  } finally {
    client.release();
  }
}

function insertStatement(target: string, rowCount: number): string {
  const width = clicks.columns.length;
  const tuples = Array.from({ length: rowCount }, (_, row) => {
    const params = Array.from({ length: width }, (_, column) => `$${row * width + column + 1}`);
    return `(${params.join(', ')})`;
  });
  return `INSERT INTO ${target} (${quoteList(columnNames(clicks))}) VALUES ${tuples.join(', ')}`;
}

/**
 * What a user might write first: a cursor over the source rows and one INSERT of 1,000 rows
 * per fetch, each its own transaction. The event time is read as text so that microseconds
 * survive (a JavaScript Date would cut them to milliseconds).
 */
export async function measureInsert(run: BaselineRun): Promise<BaselineMeasurement> {
  const target = await emptyClicksTable(run, 'bench_insert');
  const names = columnNames(clicks);
  const selected = names.map((name) => (name === 'occurred_at' ? 'occurred_at::text' : name));
  const source = await run.store.connect();
  const fullStatement = insertStatement(target, INSERT_BATCH_ROWS);
  let rows = 0;

  const started = performance.now();
  try {
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await source.query(
      `DECLARE bench_rows NO SCROLL CURSOR FOR SELECT ${selected.join(', ')} FROM clicks
        WHERE affiliate_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz`,
      [run.affiliateId, run.range.from, run.range.toExclusive],
    );
    for (;;) {
      const batch = await source.query({
        text: `FETCH ${INSERT_BATCH_ROWS} FROM bench_rows`,
        rowMode: 'array',
      });
      if (batch.rows.length === 0) break;

      const statement =
        batch.rows.length === INSERT_BATCH_ROWS
          ? fullStatement
          : insertStatement(target, batch.rows.length);
      await run.destination.query(statement, (batch.rows as unknown[][]).flat());
      rows += batch.rows.length;
    }
    await source.query('COMMIT');
  } finally {
    source.release();
  }
  return measured('multi-row INSERT, 1,000 rows', rows, started);
}

export function pgloaderInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v pgloader'], { stdio: 'ignore' }).status === 0;
}

/** A pgloader command file that reads COPY text from stdin into `target`. */
function pgloaderCommand(destinationUrl: string, schema: string): string {
  const { host, port, database, username, password } = connectionFields(destinationUrl);
  const target = `postgresql://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${port}/${database}`;
  return `LOAD COPY
  FROM stdin (${columnNames(clicks).join(', ')})
  INTO ${target}
  TARGET TABLE ${schema}.${clicks.name}
  WITH on error stop;
`;
}

/** pgloader as a peer; undefined when it is not installed. Its output goes to `logFile`. */
export async function measurePgloader(
  run: BaselineRun,
  logFile: string,
): Promise<BaselineMeasurement | undefined> {
  if (!pgloaderInstalled()) return undefined;

  const target = await emptyClicksTable(run, 'bench_pgloader');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'affiliate-mirror-bench-pgloader-'));
  const removeDir = run.cleanup.add('pgloader temp dir', () =>
    rm(dir, { recursive: true, force: true }),
  );
  try {
    const commandFile = path.join(dir, 'clicks.load');
    await writeFile(commandFile, pgloaderCommand(run.destinationUrl, 'bench_pgloader'), {
      mode: 0o600,
    });

    const started = performance.now();
    const source = await readEventRows(run.store, clicks, run.affiliateId, run.range);
    const child = spawn(
      'pgloader',
      ['--no-ssl-cert-verification', '--root-dir', dir, '--logfile', logFile, commandFile],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    const stopChild = run.cleanup.add('pgloader', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await pipeline(source.stream, child.stdin);
    const code = await exit;
    await stopChild();
    if (code !== 0) throw new Error(`pgloader exited with ${code}; see ${logFile}`);

    const counted = await run.destination.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${target}`,
    );
    return measured('pgloader (peer)', counted.rows[0]!.n, started);
  } finally {
    await removeDir();
  }
}
