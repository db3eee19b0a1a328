import path from 'node:path';

import type { Command } from 'commander';
import type pg from 'pg';

import { AppError } from '../errors.ts';
import { importApacheLog } from '../importers/apache-log-importer.ts';
import type { ImportReport } from '../importers/import-report.ts';
import type { ImportOptions } from '../importers/line-importer.ts';
import { importTalkingData } from '../importers/talkingdata-importer.ts';
import { parseAffiliateId } from './arguments.ts';
import { withStore } from './context.ts';

/** Skipped lines listed in the summary; the report holds more. */
const SKIPS_SHOWN = 20;

type Importer = (pool: pg.Pool, options: ImportOptions) => Promise<ImportReport>;

/** The human summary printed to stdout: counts per table, then the first skipped lines. */
export function formatImportSummary(
  file: string,
  affiliateId: number,
  report: ImportReport,
): string {
  const seconds = (report.durationMs / 1000).toFixed(1);
  const lines = [`Imported ${file} for affiliate ${affiliateId} in ${seconds} s.`];
  lines.push(`  lines read: ${report.linesRead}`);

  for (const [table, imported] of Object.entries(report.rowsImported)) {
    const changed = report.rowsChanged[table] ?? 0;
    lines.push(`  ${table}: ${imported} rows (${changed} new or changed)`);
  }

  if (report.nulBytesStripped > 0) {
    lines.push(`  NUL bytes removed from text: ${report.nulBytesStripped}`);
  }

  lines.push(`Skipped lines: ${report.skippedCount}`);
  for (const { line, reason } of report.skipped.slice(0, SKIPS_SHOWN)) {
    lines.push(`  line ${line}: ${reason}`);
  }
  if (report.skippedCount > SKIPS_SHOWN) {
    lines.push(`  ... and ${report.skippedCount - SKIPS_SHOWN} more`);
  }

  return `${lines.join('\n')}\n`;
}

async function runImport(importer: Importer, file: string, affiliateId: number): Promise<void> {
  const absolute = path.resolve(file);

  const report = await withStore(({ store, logger }) =>
    importer(store.pool, { file: absolute, affiliateId, logger }),
  );

  process.stdout.write(formatImportSummary(absolute, affiliateId, report));
  if (report.linesRead > 0 && report.skippedCount === report.linesRead) {
    // Not one line could be read: most likely the wrong file, or the wrong importer for it.
    throw new AppError(
      'VALIDATION_FAILED',
      `file: none of the ${report.linesRead} lines of ${absolute} could be imported; is it the right file for this importer?`,
      { fields: [{ field: 'file', message: 'holds no line this importer can read.' }] },
    );
  }
}

function addImportCommand(parent: Command, name: string, summary: string, importer: Importer) {
  parent
    .command(`${name} <file>`)
    .description(summary)
    .requiredOption('--affiliate <id>', 'the affiliate the rows belong to', parseAffiliateId)
    .action((file: string, options: { affiliate: number }) =>
      runImport(importer, file, options.affiliate),
    );
}

/**
 * Adds `import talkingdata <file> --affiliate <id>` and `import apache-log <file> --affiliate
 * <id>`. Both load the file into the platform store; importing the same file again changes
 * nothing, so a failed import is finished by running it again.
 */
export function registerImportCommands(program: Command): void {
  const importCommand = program
    .command('import')
    .description("Loads an input file into an affiliate's data in the platform store.");

  addImportCommand(
    importCommand,
    'talkingdata',
    'Imports a TalkingData AdTracking CSV as clicks, conversions, brands and traffic sources.',
    importTalkingData,
  );
  addImportCommand(
    importCommand,
    'apache-log',
    'Imports an Apache access log (combined format) as page views.',
    importApacheLog,
  );
}
