import { shown } from './import-report.ts';
import { EVENT_YEARS_TEXT, isWithinEventYears } from '../engine/reload-window.ts';
import { utcInstant } from './utc-time.ts';

/**
 * One line of an Apache access log in the combined format:
 * `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`.
 *
 * Quoted fields are kept as Apache wrote them, escapes included (`\"`, `\x..`): the log is
 * the record, and undoing escapes could produce bytes that are not valid text.
 */
export interface ApacheLogLine {
  ip: string;
  occurredAt: Date;
  method: string;
  path: string;
  /** `HTTP/1.1`; absent for HTTP/0.9 requests, which name none. */
  protocol: string | undefined;
  statusCode: number;
  /** Response body size as a decimal string (it may exceed 2^53); `null` when logged as `-`. */
  bytes: string | null;
  referrer: string | null;
  userAgent: string | null;
}

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const COMBINED_LINE = new RegExp(
  String.raw`^(\S+) \S+ \S+ \[([^\]]*)\] ${QUOTED} (\d{3}) (\d+|-) ${QUOTED} ${QUOTED}$`,
);
const REQUEST = /^(\S+) (\S+)(?: (\S+))?$/;
const TIMESTAMP = /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MAX_OFFSET_MINUTES = 14 * 60;

/**
 * Reads `%t`, e.g. `17/May/2015:10:05:03 +0200`, as a UTC instant: the local time minus its
 * offset (10:05:03 +0200 is 08:05:03 UTC). Returns `undefined` when it is not a real time.
 */
export function parseApacheTimestamp(value: string): Date | undefined {
  const match = TIMESTAMP.exec(value);
  if (!match) return undefined;

  const [, day, monthName, year, hour, minute, second, sign, offsetHours, offsetMinutes] = match;
  const month = MONTHS.indexOf(monthName ?? '') + 1;
  const local = utcInstant({
    year: Number(year),
    month,
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
  });

  const offset = Number(offsetHours) * 60 + Number(offsetMinutes);
  if (!local || Number(offsetMinutes) >= 60 || offset > MAX_OFFSET_MINUTES) return undefined;

  const direction = sign === '-' ? -1 : 1;
  return new Date(local.getTime() - direction * offset * 60_000);
}

/** `-` is how Apache writes "no value". */
function orNull(value: string | undefined): string | null {
  return value === undefined || value === '-' ? null : value;
}

/** Parses one log line, or returns the reason it cannot be imported. */
export function parseApacheLogLine(line: string): ApacheLogLine | string {
  if (line.trim() === '') return 'empty line';

  const match = COMBINED_LINE.exec(line);
  if (!match) return 'not an Apache combined log line';

  const [, ip, timestamp, request, status, bytes, referrer, userAgent] = match;
  const occurredAt = parseApacheTimestamp(timestamp ?? '');
  if (!occurredAt) return `time ${shown(timestamp ?? '')} is not like 17/May/2015:10:05:03 +0000`;
  if (!isWithinEventYears(occurredAt)) {
    return `time ${shown(timestamp ?? '')} is not ${EVENT_YEARS_TEXT}`;
  }

  const requestParts = REQUEST.exec(request ?? '');
  if (!requestParts) return `request ${shown(request ?? '')} is not "METHOD path PROTOCOL"`;

  const size = orNull(bytes);
  if (size !== null && (size.length > 18 || !/^\d+$/.test(size))) {
    return `size ${shown(size)} is not a byte count`;
  }

  const [, method, path, protocol] = requestParts;
  return {
    ip: ip ?? '',
    occurredAt,
    method: method ?? '',
    path: path ?? '',
    protocol,
    statusCode: Number(status),
    bytes: size,
    referrer: orNull(referrer),
    userAgent: orNull(userAgent),
  };
}
