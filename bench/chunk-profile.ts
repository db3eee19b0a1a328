/**
 * Where a chunk's time goes. Runs the destination's own syncRange (the code a reload chunk
 * runs, on a snapshot of the store) for a few day ranges, on a client that notes when each
 * statement starts: a step lasts from its statement's start to the next one's, so a COPY step
 * includes reading the source, which streams into it. The source COPY OUT is also timed alone,
 * draining into nothing, to tell reading from writing.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';

import type { TimeRange } from '../src/destinations/destination.ts';
import { ensureMirrorTables } from '../src/destinations/postgres/ddl.ts';
import { syncRange } from '../src/destinations/postgres/sync-range.ts';
import { eventTables } from '../src/mirror/tables.ts';
import { inTransaction } from '../src/sql/transactions.ts';
import { readEventRows } from '../src/store/source-rows.ts';
import { SourceSnapshot } from '../src/store/source-snapshot.ts';

const clicks = eventTables.clicks;

/** Step name per statement, by how the statement starts. */
const STEPS: Array<[RegExp, string]> = [
  [/^BEGIN/, 'begin, open the source'],
  [/^INSERT INTO .*_mirror_chunks/s, 'claim chunk'],
  [/^SELECT pg_advisory_xact_lock/, 'lock'],
  [/^SET LOCAL/, 'session settings'],
  [/^SELECT 1 FROM/, 'is the range empty'],
  [/^SELECT to_char\(hour/, 'digest (both sides at once; again to reconcile)'],
  [/^SAVEPOINT/, 'savepoint'],
  [/^CREATE TEMP TABLE/, 'temp table'],
  [/^COPY "affiliate_mirror_gone"/, 'by version: deletions since -> temp'],
  [/^COPY "affiliate_mirror_newer"/, 'by version: changed rows -> temp'],
  [/^COPY "affiliate_mirror_by_value"/, 'by value: rows of the hours -> temp'],
  [/^COPY /, 'source COPY OUT -> COPY IN'],
  [
    /^(WITH modified AS \(\s*)?DELETE FROM .*"affiliate_mirror_gone"/s,
    'by version: delete deleted rows',
  ],
  [
    /^(WITH modified AS \(\s*)?DELETE FROM .*"affiliate_mirror_newer"/s,
    'by version: delete outdated rows',
  ],
  [
    /^(WITH modified AS \(\s*)?INSERT INTO .* FROM "affiliate_mirror_newer"/s,
    'by version: insert newer rows',
  ],
  [/^DELETE FROM \S+ AS target\s+WHERE/s, 'by value: delete changed or gone'],
  [/^DELETE FROM .* USING "affiliate_mirror_by_value"/s, 'by value: delete moved'],
  [/^INSERT INTO .* FROM "affiliate_mirror_by_value"/s, 'by value: insert'],
  [/^COMMIT/, 'commit'],
];

export type StepTimes = Map<string, number>;

function stepOf(query: unknown): string {
  const text =
    typeof query === 'string' ? query : ((query as { text?: string } | null)?.text ?? '');
  return STEPS.find(([pattern]) => pattern.test(text.trim()))?.[1] ?? text.slice(0, 30);
}

/** A client whose `query` closes the running step and opens the statement's own. */
function steppedClient(client: pg.PoolClient, times: StepTimes) {
  let current: { step: string; started: number } | undefined;
  const close = () => {
    if (!current) return;
    const elapsed = performance.now() - current.started;
    times.set(current.step, (times.get(current.step) ?? 0) + elapsed);
    current = undefined;
  };
  const query = (...args: unknown[]): unknown => {
    close();
    current = { step: stepOf(args[0]), started: performance.now() };
    return (client.query as (...a: unknown[]) => unknown).apply(client, args);
  };
  const stepped = new Proxy(client, {
    get: (target, property) => {
      if (property === 'query') return query;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { client: stepped, close };
}

async function replaceOneRange(
  store: pg.Pool,
  destination: pg.Pool,
  schema: string,
  affiliateId: number,
  range: TimeRange,
  times: StepTimes,
) {
  const client = await destination.connect();
  const { client: stepped, close } = steppedClient(client, times);
  try {
    await stepped.query('BEGIN');
    const source = await SourceSnapshot.open(store, clicks, affiliateId, range);
    const mark = { executionId: randomUUID(), chunkIndex: 0, workerId: 'bench' };
    try {
      await syncRange(stepped, schema, clicks, affiliateId, range, source, mark);
    } finally {
      await source.close();
    }
    await stepped.query('COMMIT');
    close();
  } catch (error: unknown) {
    close();
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The source side alone: the store's COPY OUT of the range, read and thrown away. */
async function readRangeOnly(store: pg.Pool, affiliateId: number, range: TimeRange) {
  const started = performance.now();
  const source = await readEventRows(store, clicks, affiliateId, range);
  await pipeline(source.stream, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return { ms: performance.now() - started, rows: await source.rowCount };
}

export interface ChunkProfile {
  label: string;
  rows: number;
  totalMs: number;
  sourceAloneMs: number;
  steps: StepTimes;
}

/** The mirror tables in `schema` (already created and empty), made by the destination's DDL. */
export async function createProfileTables(destination: pg.Pool, schema: string) {
  await inTransaction(destination, (client) => ensureMirrorTables(client, schema, [clicks]));
}

/** Replaces each range once in `schema` and sums the time of each step over the ranges. */
export async function profileChunks(
  label: string,
  store: pg.Pool,
  destination: pg.Pool,
  schema: string,
  affiliateId: number,
  ranges: TimeRange[],
): Promise<ChunkProfile> {
  const steps: StepTimes = new Map();
  let rows = 0;
  let sourceAloneMs = 0;

  const started = performance.now();
  for (const range of ranges) {
    await replaceOneRange(store, destination, schema, affiliateId, range, steps);
  }
  const totalMs = performance.now() - started;

  for (const range of ranges) {
    const alone = await readRangeOnly(store, affiliateId, range);
    sourceAloneMs += alone.ms;
    rows += alone.rows;
  }
  return { label, rows, totalMs, sourceAloneMs, steps };
}
