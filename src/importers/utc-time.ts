/** Calendar fields as written in a file; `month` counts from 1. */
export interface CalendarFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * The instant the fields name when read as UTC, or `undefined` when they name no real time.
 * `Date.UTC` silently rolls impossible fields over (31 April becomes 1 May, hour 24 the next
 * day), so the result is read back and compared field by field.
 */
export function utcInstant(fields: CalendarFields): Date | undefined {
  const { year, month, day, hour, minute, second } = fields;
  const instant = new Date(Date.UTC(year, month - 1, day, hour, minute, second));

  const matches =
    instant.getUTCFullYear() === year &&
    instant.getUTCMonth() === month - 1 &&
    instant.getUTCDate() === day &&
    instant.getUTCHours() === hour &&
    instant.getUTCMinutes() === minute &&
    instant.getUTCSeconds() === second;

  return matches ? instant : undefined;
}

const DATE_TIME = new RegExp(
  String.raw`^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2}) ` +
    String.raw`(?<hour>\d{2}):(?<minute>\d{2}):(?<second>\d{2})$`,
);

/** Reads `YYYY-MM-DD HH:MM:SS` as UTC, or returns `undefined` when it is not a real time. */
export function parseUtcDateTime(value: string): Date | undefined {
  const groups = DATE_TIME.exec(value)?.groups;
  if (!groups) return undefined;

  return utcInstant({
    year: Number(groups.year),
    month: Number(groups.month),
    day: Number(groups.day),
    hour: Number(groups.hour),
    minute: Number(groups.minute),
    second: Number(groups.second),
  });
}
