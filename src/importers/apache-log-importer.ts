import type pg from 'pg';

import { parseApacheLogLine } from './apache-log-line.ts';
import type { UpsertTarget } from './batch-writer.ts';
import type { ImportReport } from './import-report.ts';
import {
  importLines,
  type ImportOptions,
  type LineFormat,
  type TableRow,
} from './line-importer.ts';
import { stableRowId } from './row-id.ts';

/** Ids of page views from an access log start with this. */
export const PAGEVIEW_ID_PREFIX = 'ap';

const pageviews: UpsertTarget = {
  tableName: 'pageviews',
  columns: [
    'id',
    'occurred_at',
    'ip',
    'method',
    'path',
    'status_code',
    'bytes',
    'referrer',
    'user_agent',
  ],
  onConflict: 'update-if-changed',
};

function parsePageview(line: string, lineNumber: number): TableRow[] | string {
  const entry = parseApacheLogLine(line);
  if (typeof entry === 'string') return entry;

  const id = stableRowId(PAGEVIEW_ID_PREFIX, lineNumber, line);
  const values = [
    id,
    entry.occurredAt.toISOString(),
    entry.ip,
    entry.method,
    entry.path,
    entry.statusCode,
    entry.bytes,
    entry.referrer,
    entry.userAgent,
  ];
  return [{ table: 'pageviews', values }];
}

const apacheLogFormat: LineFormat = {
  name: 'apache-log',
  targets: [pageviews],
  hasHeader: false,
  createParser: () => parsePageview,
};

/**
 * Imports an Apache access log in the combined format as the affiliate's page views, one per
 * well-formed line, at the logged time converted to UTC with the line's own offset.
 *
 * The page view id is `ap-<line number>-<hash of the line>` (see {@link stableRowId}), so
 * identical lines stay distinct and importing the same file again changes nothing. Malformed
 * lines are skipped and listed in the report.
 *
 * @throws AppError `AFFILIATE_NOT_FOUND` when the affiliate does not exist, `VALIDATION_FAILED`
 *   when the file cannot be read.
 * @example
 * const report = await importApacheLog(pool, { file: 'access.log', affiliateId: 7, logger });
 * console.log(report.rowsImported.pageviews, report.skippedCount);
 */
export function importApacheLog(pool: pg.Pool, options: ImportOptions): Promise<ImportReport> {
  return importLines(pool, options, apacheLogFormat);
}
