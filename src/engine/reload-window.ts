import { AppError } from '../errors.ts';
import type { TimeRange } from '../destinations/destination.ts';

/**
 * Reload windows. Instants are kept as microseconds since the Unix epoch (bigint), the
 * precision of PostgreSQL's timestamptz, because a JavaScript Date would round them to
 * milliseconds and move rows across a window's edge.
 */

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
}

export type InstantRole = 'from' | 'to';

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;

  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
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
  const utcMs = Date.UTC(y, mo - 1, d, h, mi, s);

  const check = new Date(utcMs);
  const calendarValid =
    check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d;
  if (!calendarValid || h > 23 || mi > 59 || s > 59) return undefined;

  const offsetMicros = BigInt(offsetMinutes(zone)) * 60_000_000n;
  const micros = BigInt(utcMs) * 1000n + fractionMicros(fraction, role) - offsetMicros;
  return { micros, dateOnly: match[4] === undefined };
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
  from: string;
  to: string;
  fromMicros: bigint;
  toExclusiveMicros: bigint;
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
  return parsed;
}

/**
 * Resolves `fromDate..toDate` (both inclusive) to UTC instants. A date-only `toDate` covers
 * that whole day; a date-only `fromDate` starts at its midnight.
 */
export function resolveReloadWindow(fromDate: unknown, toDate: unknown): ReloadWindow {
  const from = readDate(fromDate, 'fromDate');
  const to = readDate(toDate, 'toDate');
  const toExclusiveMicros = to.dateOnly ? to.micros + MICROS_PER_DAY : to.micros + 1n;

  if (from.micros >= toExclusiveMicros) {
    throw AppError.invalidField(
      'RELOAD_WINDOW_INVALID',
      'fromDate',
      `must not be after toDate (fromDate ${formatMicros(from.micros)}, toDate ${formatMicros(toExclusiveMicros - 1n)}).`,
    );
  }
  return {
    from: formatMicros(from.micros),
    to: formatMicros(toExclusiveMicros - 1n),
    fromMicros: from.micros,
    toExclusiveMicros,
  };
}

/** Splits a window at UTC midnights: each chunk is one destination transaction. */
export function planDailyChunks(fromMicros: bigint, toExclusiveMicros: bigint): TimeRange[] {
  const chunks: TimeRange[] = [];
  let start = fromMicros;

  while (start < toExclusiveMicros) {
    const dayStart = start - (((start % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY);
    const end =
      dayStart + MICROS_PER_DAY < toExclusiveMicros ? dayStart + MICROS_PER_DAY : toExclusiveMicros;
    chunks.push({ from: formatMicros(start), toExclusive: formatMicros(end) });
    start = end;
  }
  return chunks;
}
