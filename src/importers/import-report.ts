/**
 * What an import did, line by line and table by table, so that an operator can tell a complete
 * load from a partial one without reading the logs.
 */

/**
 * At most this many skipped lines are kept with their reasons. A file in the wrong format
 * would otherwise fill memory with one entry per line; `skippedCount` still counts them all.
 */
export const MAX_REPORTED_SKIPS = 10_000;

/** A line that was not imported, with its 1-based line number in the file. */
export interface SkippedLine {
  line: number;
  reason: string;
}

export interface ImportReport {
  /** Data lines read, not counting a header line: every one was imported or skipped. */
  linesRead: number;
  /** Rows taken from the file, per table; dimension rows are counted once per id. */
  rowsImported: Record<string, number>;
  /** Rows that were new or differed from the stored row, per table: 0 on a repeat import. */
  rowsChanged: Record<string, number>;
  /** The first {@link MAX_REPORTED_SKIPS} skipped lines, in file order. */
  skipped: SkippedLine[];
  /** Every skipped line, including those beyond the ones listed in `skipped`. */
  skippedCount: number;
  /** NUL bytes removed from text values, which PostgreSQL cannot store. */
  nulBytesStripped: number;
  durationMs: number;
}

/** An empty report, filled in while the file is read. */
export function emptyReport(): ImportReport {
  return {
    linesRead: 0,
    rowsImported: {},
    rowsChanged: {},
    skipped: [],
    skippedCount: 0,
    nulBytesStripped: 0,
    durationMs: 0,
  };
}

/** Notes one skipped line in the report. */
export function recordSkip(report: ImportReport, line: number, reason: string): void {
  report.skippedCount += 1;
  if (report.skipped.length < MAX_REPORTED_SKIPS) report.skipped.push({ line, reason });
}

/** Shortens a value quoted in a skip reason, so that one huge field cannot bloat a report. */
export function shown(value: string, maxChars = 40): string {
  const text = value.length > maxChars ? `${value.slice(0, maxChars)}…` : value;
  return JSON.stringify(text);
}
