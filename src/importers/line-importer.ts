import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import readline from 'node:readline';

import type pg from 'pg';

import { AppError, asError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { BatchWriter, type UpsertTarget } from './batch-writer.ts';
import { emptyReport, recordSkip, type ImportReport } from './import-report.ts';

/** What every importer is given. */
export interface ImportOptions {
  file: string;
  affiliateId: number;
  logger: Logger;
}

/** One row for one table, its values in the order of that table's target columns. */
export interface TableRow {
  table: string;
  values: unknown[];
}

/** Turns one data line into rows, or returns the reason it cannot be imported. */
export type LineParser = (line: string, lineNumber: number) => TableRow[] | string;

/**
 * A line-oriented input format. Each line is parsed on its own, so one broken line is skipped
 * and reported alone instead of derailing the lines after it.
 */
export interface LineFormat {
  /** Names the importer in logs. */
  name: string;
  targets: UpsertTarget[];
  /** True when the first line names the columns instead of holding data. */
  hasHeader: boolean;
  /** The parser of data lines, given the header line when the format has one. */
  createParser(header: string | undefined): LineParser;
}

const BYTE_ORDER_MARK = '\uFEFF';

/**
 * Streams `file` line by line into the platform store for one affiliate: lines are parsed as
 * they are read and written in batches, so memory stays flat whatever the file's size.
 */
export async function importLines(
  pool: pg.Pool,
  options: ImportOptions,
  format: LineFormat,
): Promise<ImportReport> {
  const { file, affiliateId } = options;
  await requireAffiliate(pool, affiliateId);
  await requireReadableFile(file);

  const logger = options.logger.child({ importer: format.name, affiliateId, file });
  const writer = new BatchWriter({ pool, affiliateId, targets: format.targets, logger });
  const report = emptyReport();
  const started = performance.now();
  logger.info('import started');

  try {
    await readAll(file, format, report, writer);
    await writer.finish();
  } catch (error: unknown) {
    await writer.abandon();
    const fields = { err: asError(error).message, linesRead: report.linesRead };
    logger.error(fields, 'import failed; importing the file again completes it');
    throw error;
  }

  finishReport(report, writer, started);
  logger.info(summaryFields(report), 'import finished');
  return report;
}

/** Parses every line of the file and hands its rows to the writer. */
async function readAll(
  file: string,
  format: LineFormat,
  report: ImportReport,
  writer: BatchWriter,
): Promise<void> {
  let parse = format.hasHeader ? undefined : format.createParser(undefined);
  for await (const { lineNumber, line } of numberedLines(file)) {
    if (!parse) {
      parse = format.createParser(line);
      continue;
    }

    report.linesRead += 1;
    const parsed = parse(line, lineNumber);
    if (typeof parsed === 'string') recordSkip(report, lineNumber, parsed);
    else for (const row of parsed) writer.add(row.table, row.values);

    if (writer.isFull) await writer.flush();
  }

  if (!parse) throw AppError.invalidField('VALIDATION_FAILED', 'file', `${file} is empty.`);
}

/** Lines with their 1-based numbers; `\r\n` endings and a leading byte order mark removed. */
async function* numberedLines(file: string): AsyncGenerator<{ lineNumber: number; line: string }> {
  const input = createReadStream(file);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });

  // Closing readline leaves its input open; destroying it frees the file when the caller
  // stops early (a bad header, a failed batch).
  try {
    let lineNumber = 0;
    for await (const text of lines) {
      lineNumber += 1;
      const line = lineNumber === 1 && text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
      yield { lineNumber, line };
    }
  } finally {
    input.destroy();
  }
}

async function requireAffiliate(pool: pg.Pool, affiliateId: number): Promise<void> {
  const result = await pool.query('SELECT 1 FROM affiliates WHERE id = $1', [affiliateId]);
  if (result.rowCount === 0) {
    throw new AppError('AFFILIATE_NOT_FOUND', `Affiliate ${affiliateId} does not exist.`);
  }
}

async function requireReadableFile(file: string): Promise<void> {
  const info = await stat(file).catch((error: unknown) => {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw AppError.invalidField('VALIDATION_FAILED', 'file', `cannot read ${file} (${reason}).`);
  });

  if (!info.isFile()) {
    throw AppError.invalidField('VALIDATION_FAILED', 'file', `${file} is not a regular file.`);
  }
}

function finishReport(report: ImportReport, writer: BatchWriter, started: number): void {
  report.rowsImported = writer.rowsImported;
  report.rowsChanged = writer.rowsChanged;
  report.nulBytesStripped = writer.nulBytesStripped;
  report.durationMs = Math.round(performance.now() - started);
}

function summaryFields(report: ImportReport) {
  const seconds = Math.max(report.durationMs, 1) / 1000;
  return {
    linesRead: report.linesRead,
    rowsImported: report.rowsImported,
    rowsChanged: report.rowsChanged,
    skippedLines: report.skippedCount,
    nulBytesStripped: report.nulBytesStripped,
    durationMs: report.durationMs,
    linesPerSecond: Math.round(report.linesRead / seconds),
  };
}
