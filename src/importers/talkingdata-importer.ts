import type pg from 'pg';

import type { UpsertTarget } from './batch-writer.ts';
import type { ImportReport } from './import-report.ts';
import {
  importLines,
  type ImportOptions,
  type LineFormat,
  type TableRow,
} from './line-importer.ts';
import { stableRowId } from './row-id.ts';
import {
  parseTalkingDataLine,
  readTalkingDataHeader,
  type TalkingDataClick,
  type TalkingDataHeader,
} from './talkingdata-row.ts';

/** Ids of TalkingData clicks start with this; their conversions add {@link CONVERSION_SUFFIX}. */
export const CLICK_ID_PREFIX = 'td';
export const CONVERSION_SUFFIX = '-install';

// Dimensions first, so that a committed batch never holds a click whose brand is missing.
const targets: UpsertTarget[] = [
  { tableName: 'brands', columns: ['id', 'name'], onConflict: 'keep-existing' },
  { tableName: 'traffic_sources', columns: ['id', 'name'], onConflict: 'keep-existing' },
  {
    tableName: 'clicks',
    columns: ['id', 'occurred_at', 'brand_id', 'traffic_source_id', 'ip', 'device', 'os'],
    onConflict: 'update-if-changed',
  },
  {
    tableName: 'conversions',
    columns: [
      'id',
      'occurred_at',
      'click_id',
      'brand_id',
      'traffic_source_id',
      'status',
      'amount',
      'currency',
    ],
    onConflict: 'update-if-changed',
  },
];

/**
 * The rows one click line becomes. `app` is the advertised app, so it is the brand; `channel`
 * is the ad publisher, so it is the traffic source. The file gives neither a name, hence the
 * placeholders, which never overwrite a name stored by another source.
 */
function clickRows(click: TalkingDataClick, clickId: string): TableRow[] {
  const { app, channel } = click;
  const rows: TableRow[] = [
    { table: 'brands', values: [app, `App ${app}`] },
    { table: 'traffic_sources', values: [channel, `Channel ${channel}`] },
    {
      table: 'clicks',
      values: [
        clickId,
        click.clickedAt.toISOString(),
        app,
        channel,
        click.ip,
        click.device,
        click.os,
      ],
    },
  ];

  // An attributed click led to an app install: one conversion, at the install's time.
  if (click.attributedAt) {
    const at = click.attributedAt.toISOString();
    const conversionId = `${clickId}${CONVERSION_SUFFIX}`;
    const values = [conversionId, at, clickId, app, channel, 'approved', null, null];
    rows.push({ table: 'conversions', values });
  }
  return rows;
}

function parserFor(header: TalkingDataHeader) {
  return (line: string, lineNumber: number): TableRow[] | string => {
    const click = parseTalkingDataLine(line, header);
    if (typeof click === 'string') return click;

    return clickRows(click, stableRowId(CLICK_ID_PREFIX, lineNumber, line));
  };
}

const talkingDataFormat: LineFormat = {
  name: 'talkingdata',
  targets,
  hasHeader: true,
  createParser: (header) => parserFor(readTalkingDataHeader(header ?? '')),
};

/**
 * Imports a TalkingData AdTracking CSV (`ip,app,device,os,channel,click_time,attributed_time,
 * is_attributed`) as the affiliate's clicks, conversions, brands and traffic sources.
 *
 * Every data line is one click, identical lines included: the click id is
 * `td-<line number>-<hash of the line>` (see {@link stableRowId}), so importing the same file
 * again changes nothing. Malformed lines are skipped and listed in the report.
 *
 * @throws AppError `AFFILIATE_NOT_FOUND` when the affiliate does not exist, `VALIDATION_FAILED`
 *   when the file cannot be read or its header lacks a column.
 * @example
 * const report = await importTalkingData(pool, { file, affiliateId: 7, logger });
 * console.log(report.rowsImported.clicks); // 100000
 */
export function importTalkingData(pool: pg.Pool, options: ImportOptions): Promise<ImportReport> {
  return importLines(pool, options, talkingDataFormat);
}
