import type pg from 'pg';

import { EVENT_YEARS_TEXT, isWithinEventYears } from '../engine/reload-window.ts';
import { AppError } from '../errors.ts';
import { inTransaction } from '../sql/transactions.ts';

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

/** The report's tables, in the order a reader expects them. */
const REPORTED_TABLES = [
  'brands',
  'programs',
  'accounts',
  'traffic_sources',
  'links',
  'clicks',
  'conversions',
  'pageviews',
];

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

type StatementBuilder = (
  run: SyntheticRun,
  firstN: number,
  lastN: number,
  keepExisting: boolean,
) => Statement;

const UNIQUE_VIOLATION = '23505';

/**
 * Writes one batch: first as a plain INSERT, and if an earlier run already made some of its
 * rows (a repeated or resumed run), again keeping those. Each attempt is one statement, so a
 * failed one leaves nothing behind. Returns the rows inserted.
 */
async function insertBatch(
  pool: pg.Pool,
  build: (keepExisting: boolean) => Statement,
): Promise<number> {
  try {
    const statement = build(false);
    return (await pool.query(statement.sql, statement.values)).rowCount ?? 0;
  } catch (error: unknown) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;

    const statement = build(true);
    return (await pool.query(statement.sql, statement.values)).rowCount ?? 0;
  }
}

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

/**
 * Runs the tasks in order, `concurrency` at a time. After a failure no new task starts, and
 * the running ones are waited for, so that nothing still writes once the caller hears of it.
 */
async function runConcurrently(tasks: Task[], concurrency: number): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < tasks.length && !failed) {
      const task = tasks[next]!;
      next += 1;
      await task().catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };

  const workers = Array.from({ length: Math.min(concurrency, tasks.length) }, worker);
  const outcomes = await Promise.allSettled(workers);
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
}

async function writeDimensions(pool: pg.Pool, run: SyntheticRun, report: GenerateReport) {
  await inTransaction(pool, async (client) => {
    for (const [table, statement] of dimensionStatements(run)) {
      const result = await client.query(statement.sql, statement.values);
      report.rowsInserted[table] = (report.rowsInserted[table] ?? 0) + (result.rowCount ?? 0);
    }
  });
}

/** One run in progress: what its batches need and what they report. */
interface Generation {
  pool: pg.Pool;
  run: SyntheticRun;
  report: GenerateReport;
  log: Logger;
  batchesDone: number;
  batchCount: number;
}

async function writeBatch(
  generation: Generation,
  table: string,
  build: StatementBuilder,
  [firstN, lastN]: [number, number],
) {
  const { pool, run, report, log } = generation;
  const started = performance.now();
  const rows = await insertBatch(pool, (keep) => build(run, firstN, lastN, keep));
  report.rowsInserted[table] = (report.rowsInserted[table] ?? 0) + rows;

  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  log.info({ table, n: `${firstN}-${lastN}`, rows, seconds }, 'batch written');
}

function batchDone(generation: Generation) {
  generation.batchesDone += 1;
  const { batchesDone, batchCount } = generation;
  generation.log.info({ batches: `${batchesDone} of ${batchCount}` }, 'progress');
}

/** One task per batch: clicks with their conversions, or page views; the two kinds alternate. */
function eventTasks(generation: Generation, batchRows: number): Task[] {
  const clickRanges = batchRanges(generation.run.clicks, batchRows);
  const pageviewRanges = batchRanges(generation.run.pageviews, batchRows);
  generation.batchCount = clickRanges.length + pageviewRanges.length;

  const clickTasks = clickRanges.map((range): Task => async () => {
    await writeBatch(generation, 'clicks', clicksStatement, range);
    await writeBatch(generation, 'conversions', conversionsStatement, range);
    batchDone(generation);
  });
  const pageviewTasks = pageviewRanges.map((range): Task => async () => {
    await writeBatch(generation, 'pageviews', pageviewsStatement, range);
    batchDone(generation);
  });
  return interleave(clickTasks, pageviewTasks);
}

/** Every generated event (conversions too: they stay inside the days) must be reloadable. */
function checkWithinEventYears(start: Date, days: number): void {
  const lastInstant = new Date(start.getTime() + days * 86_400_000 - 1);
  if (isWithinEventYears(start) && isWithinEventYears(lastInstant)) return;

  throw AppError.invalidField(
    'VALIDATION_FAILED',
    'start',
    `the generated days (${days} from ${start.toISOString().slice(0, 10)}) must lie ${EVENT_YEARS_TEXT}.`,
  );
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
  checkWithinEventYears(options.start, options.days);
  await getAffiliate(pool, options.affiliateId);

  const run: SyntheticRun = {
    affiliateId: options.affiliateId,
    seed: options.seed,
    start: options.start,
    days: options.days,
    clicks: options.clicks,
    pageviews: Math.round(options.clicks * PAGEVIEWS_PER_CLICK),
  };
  const rowsInserted = Object.fromEntries(REPORTED_TABLES.map((table) => [table, 0]));
  const report: GenerateReport = { rowsInserted, durationMs: 0 };
  const log = options.logger.child({ affiliateId: run.affiliateId, seed: run.seed });
  log.info({ clicks: run.clicks, pageviews: run.pageviews, days: run.days }, 'generating');

  await writeDimensions(pool, run, report);
  const generation: Generation = { pool, run, report, log, batchesDone: 0, batchCount: 0 };
  const tasks = eventTasks(generation, options.batchRows ?? DEFAULT_BATCH_ROWS);
  await runConcurrently(tasks, options.concurrency ?? DEFAULT_CONCURRENCY);

  report.durationMs = Math.round(performance.now() - started);
  log.info({ rowsInserted, durationMs: report.durationMs }, 'generated');
  return report;
}
