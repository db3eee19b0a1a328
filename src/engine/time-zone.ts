import { DateTime, IANAZone } from 'luxon';

import { AppError } from '../errors.ts';

/**
 * Affiliate time zones: which names are accepted, and where a calendar day of a zone begins.
 * All zone rules come from the runtime's ICU data through luxon; none are written here.
 */

export const DEFAULT_TIME_ZONE = 'UTC';

/** A calendar date as a client wrote it, without a zone. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/**
 * The zone's name if the runtime knows it, with its letter case corrected (`europe/paris`
 * becomes `Europe/Paris`); undefined otherwise. Aliases are kept as written (`Asia/Kolkata`
 * stays `Asia/Kolkata`, although ICU's canonical name is `Asia/Calcutta`), so an affiliate
 * reads back the name it chose.
 */
export function normaliseTimeZone(name: string): string | undefined {
  if (!IANAZone.isValidZone(name)) return undefined;

  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/** A `timeZone` input field: an IANA zone name, or a 400 naming the field and an example. */
export function readTimeZone(value: unknown, field = 'timeZone'): string {
  const zone = typeof value === 'string' ? normaliseTimeZone(value) : undefined;
  if (zone === undefined) {
    throw AppError.invalidField(
      'TIME_ZONE_INVALID',
      field,
      `must be an IANA time zone name such as Europe/Paris, America/New_York or UTC; got ${JSON.stringify(value)}.`,
    );
  }
  return zone;
}

/** The date after `date`, by the calendar alone. */
export function nextCalendarDate(date: CalendarDate): CalendarDate {
  const next = DateTime.fromObject(date, { zone: 'UTC' }).plus({ days: 1 });
  return { year: next.year, month: next.month, day: next.day };
}

const MILLIS_PER_HOUR = 3_600_000;

/** Real offsets lie between -12:00 and +14:00: a day's first instant is this close to its midnight. */
const SEARCH_HOURS_BEFORE = 15;
const SEARCH_HOURS_AFTER = 13;

/** The instant, to the millisecond, at which the zone's offset changes between `from` and `to`. */
function transitionBetween(zone: IANAZone, from: number, to: number): number {
  const before = zone.offset(from);
  let low = from;
  let high = to;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (zone.offset(middle) === before) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The first instant of `date` in `zone`, in milliseconds since the epoch: the earliest instant
 * whose local date is `date` or later. Usually local midnight; on a day whose midnight does not
 * exist (clocks jumping from 00:00 to 01:00, as in America/Santiago) the instant of the jump;
 * on a day whose midnight happens twice (America/Havana falling back from 01:00 to 00:00) the
 * first one. A date the zone skipped (Pacific/Apia, 2011-12-30) begins where the next one
 * does, so it holds no instant.
 *
 * The zone's offsets come from luxon (ICU data); the search only asks which offset holds when.
 * Luxon's own local-to-instant conversion is not used because it resolves a repeated local
 * time by the offset in force today, so its answer would depend on the date it runs.
 */
export function startOfZonedDayMillis(date: CalendarDate, zone: string): number {
  const tz = IANAZone.create(zone);
  const midnight = DateTime.fromObject(date, { zone: 'UTC' }).toMillis();
  const offsetMillis = (instant: number) => tz.offset(instant) * 60_000;

  // Most days: one offset holds all around midnight, and the day starts at midnight under it.
  const earliest = midnight - SEARCH_HOURS_BEFORE * MILLIS_PER_HOUR;
  const latest = midnight + SEARCH_HOURS_AFTER * MILLIS_PER_HOUR;
  if (tz.offset(earliest) === tz.offset(latest)) return midnight - offsetMillis(earliest);

  // Otherwise the day begins where the local clock passes midnight under one of the offsets
  // nearby, or at an offset change that makes it jump past midnight. Offsets are sampled every
  // hour (no zone changes its offset twice within an hour).
  const candidates: number[] = [];
  let previous = earliest;
  for (let sample = earliest; sample <= latest; sample += MILLIS_PER_HOUR) {
    if (tz.offset(sample) !== tz.offset(previous)) {
      candidates.push(transitionBetween(tz, previous, sample));
    }
    candidates.push(midnight - offsetMillis(sample));
    previous = sample;
  }

  const reached = candidates.filter((instant) => instant + offsetMillis(instant) >= midnight);
  return Math.min(...reached);
}
