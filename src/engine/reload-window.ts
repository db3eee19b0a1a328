import { AppError } from '../errors.ts';
import type { TimeRange } from '../destinations/destination.ts';
import {
  DEFAULT_TIME_ZONE,
  nextCalendarDate,
  startOfZonedDayMillis,
  type CalendarDate,
} from './time-zone.ts';

/**
 * Reload windows. Instants are kept as microseconds since the Unix epoch (bigint), the
 * precision of PostgreSQL's timestamptz, because a JavaScript Date would round them to
 * milliseconds and move rows across a window's edge.
 */

/** Chunks are cut at UTC midnights, whatever zone the window was read in. */
const MICROS_PER_DAY = 86_400_000_000n;

const DATE_TIME = new RegExp(
  '^(\\d{4})-(\\d{2})-(\\d{2})' +
    '(?:[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?' +
    '(Z|[+-]\\d{2}(?::?\\d{2})?)?)?$',
  'i',
);

export interface ParsedInstant {
  micros: bigint;
  /** True when the text was a date without a time (`2017-11-07`). */
  dateOnly: boolean;
  /** The calendar date as written, before any offset: the day a date-only text names. */
  date: CalendarDate;
}

export type InstantRole = 'from' | 'to';

/** Real offsets run from -12:00 to +14:00; anything past ±14:59 is a typo, not a zone. */
const MAX_OFFSET_HOURS = 14;

/** The offset in minutes, or undefined when it is not a possible one. */
function offsetMinutes(zone: string | undefined): number | undefined {
  if (!zone || zone.toUpperCase() === 'Z') return 0;

  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > MAX_OFFSET_HOURS || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

/** Milliseconds since the epoch; unlike Date.UTC, years 0 to 99 stay themselves. */
function utcMillis(y: number, mo: number, d: number, h: number, mi: number, s: number) {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date;
}

/**
 * Fractions finer than a microsecond cannot be stored; both window ends are inclusive, so the
 * start rounds up and the end rounds down: no instant outside the given window is included.
 */
function fractionMicros(fraction: string | undefined, role: InstantRole): bigint {
  if (!fraction) return 0n;

  const micros = BigInt(fraction.padEnd(6, '0').slice(0, 6));
  const finer = fraction.length > 6 && /[1-9]/.test(fraction.slice(6));
  return role === 'from' && finer ? micros + 1n : micros;
}

/** Reads an ISO 8601 date or date-time; no offset means UTC. Undefined when unreadable. */
export function parseInstant(text: string, role: InstantRole): ParsedInstant | undefined {
  const match = DATE_TIME.exec(text.trim());
  if (!match) return undefined;

  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction, zone] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const check = utcMillis(y, mo, d, h, mi, s);
  const calendarValid =
    check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d;
  const offset = offsetMinutes(zone);
  if (!calendarValid || h > 23 || mi > 59 || s > 59 || offset === undefined) return undefined;

  const offsetMicros = BigInt(offset) * 60_000_000n;
  const micros = BigInt(check.getTime()) * 1000n + fractionMicros(fraction, role) - offsetMicros;
  return { micros, dateOnly: match[4] === undefined, date: { year: y, month: mo, day: d } };
}

/** `2017-11-07T00:00:00.000000Z`: the form every layer of the service exchanges. */
export function formatMicros(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = micros - ms * 1000n;
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, -1)}${rest.toString().padStart(3, '0')}Z`;
}

/** An inclusive window as the client meant it, and its half-open form for queries. */
export interface ReloadWindow {
  /** First instant inside, in UTC with microseconds. */
  from: string;
  /** Last instant inside (inclusive), in UTC with microseconds. */
  to: string;
  fromMicros: bigint;
  toExclusiveMicros: bigint;
  /** The zone whose days date-only ends were read in. */
  timeZone: string;
}

/**
 * Tracking data lives in the years 1900 to 2999: outside them a date is a mistake, not a
 * window, and ingest refuses events outside them, so that every stored event can be reloaded.
 */
export const EARLIEST_EVENT_MICROS = parseInstant('1900-01-01', 'from')!.micros;
export const LATEST_EVENT_MICROS_EXCLUSIVE = parseInstant('3000-01-01', 'from')!.micros;
export const EVENT_YEARS_TEXT = 'between 1900-01-01 and 2999-12-31 (UTC)';

/** Whether an event at `instant` can be stored: every stored event must be reloadable. */
export function isWithinEventYears(instant: Date): boolean {
  const micros = BigInt(instant.getTime()) * 1000n;
  return micros >= EARLIEST_EVENT_MICROS && micros < LATEST_EVENT_MICROS_EXCLUSIVE;
}

function readDate(value: unknown, field: 'fromDate' | 'toDate'): ParsedInstant {
  if (value === undefined || value === null || value === '') {
    throw AppError.invalidField('RELOAD_DATE_MISSING', field, 'is required for event data types.');
  }
  const parsed =
    typeof value === 'string'
      ? parseInstant(value, field === 'fromDate' ? 'from' : 'to')
      : undefined;
  if (!parsed) {
    throw AppError.invalidField(
      'RELOAD_DATE_INVALID',
      field,
      `must be an ISO 8601 date-time such as 2017-11-07T00:00:00Z, or a date such as 2017-11-07; got ${JSON.stringify(value)}.`,
    );
  }
  if (parsed.micros < EARLIEST_EVENT_MICROS || parsed.micros >= LATEST_EVENT_MICROS_EXCLUSIVE) {
    throw AppError.invalidField(
      'RELOAD_DATE_INVALID',
      field,
      `must lie ${EVENT_YEARS_TEXT}; got ${JSON.stringify(value)}.`,
    );
  }
  return parsed;
}

function zonedDayStartMicros(date: CalendarDate, timeZone: string): bigint {
  return BigInt(startOfZonedDayMillis(date, timeZone)) * 1000n;
}

/**
 * Resolves `fromDate..toDate` (both inclusive) to UTC instants. A date-time with an offset is
 * that instant, and one without an offset is UTC, whatever the zone. A date without a time
 * means a day of `timeZone` (the affiliate's): a date-only `fromDate` starts at that day's
 * first instant, a date-only `toDate` covers that whole day, up to the next day's first
 * instant. Such a day lasts 23 or 25 hours when the clocks change in it.
 */
export function resolveReloadWindow(
  fromDate: unknown,
  toDate: unknown,
  timeZone: string = DEFAULT_TIME_ZONE,
): ReloadWindow {
  const from = readDate(fromDate, 'fromDate');
  const to = readDate(toDate, 'toDate');
  const fromMicros = from.dateOnly ? zonedDayStartMicros(from.date, timeZone) : from.micros;
  const toExclusiveMicros = to.dateOnly
    ? zonedDayStartMicros(nextCalendarDate(to.date), timeZone)
    : to.micros + 1n;

  if (fromMicros >= toExclusiveMicros) {
    throwIfSkippedDay(from, 'fromDate', timeZone);
    throwIfSkippedDay(to, 'toDate', timeZone);
    throw AppError.invalidField(
      'RELOAD_WINDOW_INVALID',
      'fromDate',
      `must not be after toDate (fromDate ${formatMicros(fromMicros)}, toDate ${formatMicros(toExclusiveMicros - 1n)}, dates read in ${timeZone}).`,
    );
  }
  return {
    from: formatMicros(fromMicros),
    to: formatMicros(toExclusiveMicros - 1n),
    fromMicros,
    toExclusiveMicros,
    timeZone,
  };
}

/**
 * A window can be empty because a date-only end names a day its zone never had: Pacific/Apia
 * went from 2011-12-29 straight to 2011-12-31. Said as such, not as "fromDate is after toDate".
 */
function throwIfSkippedDay(end: ParsedInstant, field: 'fromDate' | 'toDate', timeZone: string) {
  if (!end.dateOnly) return;
  const start = zonedDayStartMicros(end.date, timeZone);
  if (start !== zonedDayStartMicros(nextCalendarDate(end.date), timeZone)) return;

  throw AppError.invalidField(
    'RELOAD_DATE_INVALID',
    field,
    `is a day ${timeZone} does not have: its clocks skipped from the day before to the day after.`,
  );
}

function minMicros(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/**
 * Splits a window into chunks of at most one UTC day for the days the source has rows on, and
 * one chunk for each run of days without any. A run of empty days still needs its chunk (the
 * mirror may hold rows deleted at the source there), but not one transaction per day: ten
 * empty years are one chunk, not 3,652. `daysWithRows` are UTC day numbers since the epoch.
 */
export function planChunks(
  fromMicros: bigint,
  toExclusiveMicros: bigint,
  daysWithRows: bigint[],
): TimeRange[] {
  const chunks: TimeRange[] = [];
  const push = (from: bigint, to: bigint) => {
    if (from < to) chunks.push({ from: formatMicros(from), toExclusive: formatMicros(to) });
  };

  let cursor = fromMicros;
  for (const day of [...daysWithRows].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const dayStart = day * MICROS_PER_DAY;
    const dayEnd = minMicros(dayStart + MICROS_PER_DAY, toExclusiveMicros);
    if (dayEnd <= cursor) continue;

    push(cursor, dayStart);
    push(cursor > dayStart ? cursor : dayStart, dayEnd);
    cursor = dayEnd;
  }
  push(cursor, toExclusiveMicros);
  return chunks;
}
