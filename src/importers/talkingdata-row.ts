import { EVENT_YEARS_TEXT, isWithinEventYears } from '../engine/reload-window.ts';
import { AppError } from '../errors.ts';
import { shown } from './import-report.ts';
import { parseUtcDateTime } from './utc-time.ts';

/**
 * One line of the TalkingData AdTracking CSV. The publisher encoded every id as an integer and
 * wrote times as UTC `YYYY-MM-DD HH:MM:SS`, so the format has nothing to quote: lines are split
 * on commas. A general CSV parser would let one stray quote swallow every line after it.
 */

export const TALKINGDATA_COLUMNS = [
  'ip',
  'app',
  'device',
  'os',
  'channel',
  'click_time',
  'attributed_time',
  'is_attributed',
] as const;

type ColumnName = (typeof TALKINGDATA_COLUMNS)[number];

/** Where each column sits, read from the header line, and how many columns a line has. */
export interface TalkingDataHeader {
  positions: Record<ColumnName, number>;
  width: number;
}

export interface TalkingDataClick {
  ip: string;
  app: string;
  device: string;
  os: string;
  channel: string;
  clickedAt: Date;
  /** Set when `is_attributed` is 1: the install the click led to. */
  attributedAt: Date | undefined;
}

const ID_COLUMNS = ['ip', 'app', 'device', 'os', 'channel'] as const;
const WHOLE_NUMBER = /^\d+$/;
const TIME_FORMAT = 'YYYY-MM-DD HH:MM:SS';

/**
 * Reads the header line. Columns are found by name, so their order may differ from the
 * original file; a missing column fails the whole import, since no line could be read.
 */
export function readTalkingDataHeader(line: string): TalkingDataHeader {
  const names = line.split(',').map((name) => name.trim());
  const missing = TALKINGDATA_COLUMNS.filter((column) => !names.includes(column));
  if (missing.length > 0) {
    const expected = TALKINGDATA_COLUMNS.join(',');
    const message = `the header line lacks ${missing.join(', ')}; expected ${expected}.`;
    throw AppError.invalidField('VALIDATION_FAILED', 'file', message);
  }

  const positions = Object.fromEntries(
    TALKINGDATA_COLUMNS.map((column) => [column, names.indexOf(column)]),
  ) as Record<ColumnName, number>;
  return { positions, width: names.length };
}

/** Parses one data line, or returns the reason it cannot be imported. */
export function parseTalkingDataLine(
  line: string,
  header: TalkingDataHeader,
): TalkingDataClick | string {
  if (line.trim() === '') return 'empty line';

  const fields = line.split(',').map((field) => field.trim());
  if (fields.length !== header.width) {
    return `expected ${header.width} columns, found ${fields.length}`;
  }

  const value = (column: ColumnName): string => fields[header.positions[column]] ?? '';
  const notWhole = ID_COLUMNS.find((column) => !WHOLE_NUMBER.test(value(column)));
  if (notWhole) return `${notWhole} ${shown(value(notWhole))} is not a whole number`;

  const clickedAt = parseUtcDateTime(value('click_time'));
  if (!clickedAt) return `click_time ${shown(value('click_time'))} is not a time ${TIME_FORMAT}`;
  if (!isWithinEventYears(clickedAt)) {
    return `click_time ${shown(value('click_time'))} is not ${EVENT_YEARS_TEXT}`;
  }

  const attribution = readAttribution(value('is_attributed'), value('attributed_time'));
  if (typeof attribution === 'string') return attribution;

  return {
    ip: value('ip'),
    app: value('app'),
    device: value('device'),
    os: value('os'),
    channel: value('channel'),
    clickedAt,
    attributedAt: attribution.at,
  };
}

/**
 * The install time when `is_attributed` is 1. With 0, `attributed_time` is not read at all:
 * the flag decides whether there was a conversion.
 */
function readAttribution(flag: string, time: string): { at: Date | undefined } | string {
  if (flag === '0') return { at: undefined };
  if (flag !== '1') return `is_attributed ${shown(flag)} is neither 0 nor 1`;
  if (time === '') return 'is_attributed is 1 but attributed_time is empty';

  const at = parseUtcDateTime(time);
  if (!at) return `attributed_time ${shown(time)} is not a time ${TIME_FORMAT}`;
  if (!isWithinEventYears(at)) return `attributed_time ${shown(time)} is not ${EVENT_YEARS_TEXT}`;
  return { at };
}
