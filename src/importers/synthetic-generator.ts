import type pg from 'pg';

import type { Logger } from '../logger.ts';
import { getAffiliate } from '../store/affiliates-store.ts';
import {
  clicksStatement,
  conversionsStatement,
  dimensionStatements,
  pageviewsStatement,
  type Statement,
  type SyntheticRun,
} from './synthetic-sql.ts';

/**
 * Rows per generated statement, each its own transaction: large enough that per-statement
 * costs vanish, small enough that a failure loses little and progress shows every few seconds.
 */
export const DEFAULT_BATCH_ROWS = 500_000;

/** Two statements at a time: one per core of a small machine, the database does the work. */
const DEFAULT_CONCURRENCY = 2;

const PAGEVIEWS_PER_CLICK = 1.5;

export interface GenerateOptions {
  affiliateId: number;
  clicks: number;
  days: number;
  seed: number;
  /** A UTC midnight: the first generated day. */
  start: Date;
  logger: Logger;
  batchRows?: number;
  concurrency?: number;
}

export interface GenerateReport {
  /** Rows inserted per table; rows already there from an earlier run are kept and not counted. */
  rowsInserted: Record<string, number>;
  durationMs: number;
}

type Task = () => Promise<void>;

/** [first, last] ranges of 1..total, `size` at most each. */
function batchRanges(total: number, size: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let first = 1; first <= total; first += size) {
    ranges.push([first, Math.min(total, first + size - 1)]);
  }
  return ranges;
}

/** Alternates the lists' items, so that concurrent workers write different tables. */
function interleave<T>(a: T[], b: T[]): T[] {
  const mixed: T[] = [];
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    if (index < a.length) mixed.push(a[index]!);
    if (index < b.length) mixed.push(b[index]!);
  }
  return mixed;
}

async function runConcurrently(tasks: Task[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next]!;
      next += 1;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}

async function writeDimensions(pool: pg.Pool, run: SyntheticRun, report: GenerateReport) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const [table, statement] of dimensionStatements(run)) {
      const result = await client.query(statement.sql, statement.values);
      report.rowsInserted[table] = (report.rowsInserted[table] ?? 0) + (result.rowCount ?? 0);
    }
    await client.query('COMMIT');
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Fills the platform store with an affiliate's synthetic tracking data: fixed dimensions,
 * `clicks` clicks over `days` days from `start` with a daily and weekly rhythm, conversions for
 * 2-4% of them, and 1.5 page views per click. Rows are pure functions of the options, ids
 * included (`g<seed>-c<n>`), and existing rows are left alone, so a run can be repeated or
 * resumed after a failure with the same options.
 */
export async function generateSyntheticData(
  pool: pg.Pool,
  options: GenerateOptions,
): Promise<GenerateReport> {
  const started = performance.now();
  await getAffiliate(pool, options.affiliateId);

  const run: SyntheticRun = {
    affiliateId: options.affiliateId,
    seed: options.seed,
    start: options.start,
    days: options.days,
    clicks: options.clicks,
    pageviews: Math.round(options.clicks * PAGEVIEWS_PER_CLICK),
  };
  const report: GenerateReport = { rowsInserted: {}, durationMs: 0 };
  const log = options.logger.child({ affiliateId: run.affiliateId, seed: run.seed });
  log.info({ clicks: run.clicks, pageviews: run.pageviews, days: run.days }, 'generating');

  await writeDimensions(pool, run, report);

  const size = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const clickRanges = batchRanges(run.clicks, size);
  const pageviewRanges = batchRanges(run.pageviews, size);
  const batchCount = clickRanges.length + pageviewRanges.length;
  let batchesDone = 0;

  const execute = async (table: string, statement: Statement, range: [number, number]) => {
    const batchStarted = performance.now();
    const result = await pool.query(statement.sql, statement.values);
    const rows = result.rowCount ?? 0;
    report.rowsInserted[table] = (report.rowsInserted[table] ?? 0) + rows;

    const seconds = (performance.now() - batchStarted) / 1000;
    log.info(
      { table, n: `${range[0]}-${range[1]}`, rows, seconds: Number(seconds.toFixed(1)) },
      'batch written',
    );
  };
  const clickTasks = clickRanges.map((range): Task => async () => {
    await execute('clicks', clicksStatement(run, ...range), range);
    await execute('conversions', conversionsStatement(run, ...range), range);
    batchesDone += 1;
    log.info({ batches: `${batchesDone} of ${batchCount}` }, 'progress');
  });
  const pageviewTasks = pageviewRanges.map((range): Task => async () => {
    await execute('pageviews', pageviewsStatement(run, ...range), range);
    batchesDone += 1;
    log.info({ batches: `${batchesDone} of ${batchCount}` }, 'progress');
  });

  await runConcurrently(
    interleave(clickTasks, pageviewTasks),
    options.concurrency ?? DEFAULT_CONCURRENCY,
  );
  report.durationMs = Math.round(performance.now() - started);
  log.info({ rowsInserted: report.rowsInserted, durationMs: report.durationMs }, 'generated');
  return report;
}
