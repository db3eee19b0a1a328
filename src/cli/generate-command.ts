import { InvalidArgumentError, type Command } from 'commander';

import { formatMicros, parseInstant } from '../engine/reload-window.ts';
import { generateSyntheticData, type GenerateReport } from '../importers/synthetic-generator.ts';
import { parseAffiliateId } from './arguments.ts';
import { withStore } from './context.ts';

const DEFAULT_START = '2025-01-01';
const DEFAULT_SEED = 1;
const MAX_CLICKS = 1_000_000_000;
const MAX_DAYS = 3650;
const MAX_SEED = 2_147_483_647;

interface GenerateArguments {
  affiliate: number;
  clicks: number;
  days: number;
  seed: number;
  start: Date;
}

function integerParser(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    }
    return number;
  };
}

/** A date (UTC midnight); a time or offset would make the days' edges ambiguous. */
function parseStartDate(value: string): Date {
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(value) ? parseInstant(value, 'from') : undefined;
  if (!parsed) throw new InvalidArgumentError('must be a date such as 2025-01-01 (UTC).');
  return new Date(formatMicros(parsed.micros));
}

/** The summary printed to stdout: rows per table, time and rate. */
export function formatGenerateSummary(options: GenerateArguments, report: GenerateReport) {
  const seconds = report.durationMs / 1000;
  const total = Object.values(report.rowsInserted).reduce((sum, rows) => sum + rows, 0);
  const start = options.start.toISOString().slice(0, 10);
  const lines = [
    `Generated data for affiliate ${options.affiliate} (seed ${options.seed}, ` +
      `${options.days} days from ${start}) in ${seconds.toFixed(1)} s.`,
  ];

  for (const [table, rows] of Object.entries(report.rowsInserted)) {
    lines.push(`  ${table}: ${rows.toLocaleString('en-US')} new rows`);
  }
  const rate = Math.round(total / Math.max(seconds, 0.001));
  lines.push(
    `  total: ${total.toLocaleString('en-US')} rows, ${rate.toLocaleString('en-US')} rows/s`,
  );
  if (total === 0) lines.push('All rows were already there from an earlier run with this seed.');
  return `${lines.join('\n')}\n`;
}

/**
 * Adds `generate --affiliate N --clicks COUNT --days D [--seed S] [--start YYYY-MM-DD]`, which
 * fills the platform store with synthetic data for load tests and demos. The same arguments
 * always give the same rows; a repeated run adds only what is missing.
 */
export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description(
      'Fills the platform store with synthetic clicks, conversions, page views and dimensions ' +
        'for an existing affiliate; the same arguments always give the same rows.',
    )
    .requiredOption('--affiliate <id>', 'the affiliate the rows belong to', parseAffiliateId)
    .requiredOption(
      '--clicks <count>',
      `clicks to generate (1 to ${MAX_CLICKS})`,
      integerParser(1, MAX_CLICKS),
    )
    .requiredOption(
      '--days <count>',
      `days the clicks are spread over (1 to ${MAX_DAYS})`,
      integerParser(1, MAX_DAYS),
    )
    .option(
      '--seed <n>',
      `seed of every pseudo-random choice (0 to ${MAX_SEED})`,
      integerParser(0, MAX_SEED),
      DEFAULT_SEED,
    )
    .option(
      '--start <date>',
      `the first day, YYYY-MM-DD in UTC (default: ${DEFAULT_START})`,
      parseStartDate,
    )
    .action(async (given: Omit<GenerateArguments, 'start'> & { start?: Date }) => {
      const options = { ...given, start: given.start ?? parseStartDate(DEFAULT_START) };
      const report = await withStore(({ store, logger }) =>
        generateSyntheticData(store.pool, {
          affiliateId: options.affiliate,
          clicks: options.clicks,
          days: options.days,
          seed: options.seed,
          start: options.start,
          logger,
        }),
      );
      process.stdout.write(formatGenerateSummary(options, report));
    });
}
