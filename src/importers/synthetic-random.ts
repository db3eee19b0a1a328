/**
 * Pseudo-random choices and event times of synthetic data, as SQL expressions over a row
 * number. Every choice is computed from (seed, stream, key) with `hashint8extended`, never
 * `random()`: the same seed gives the same rows, and a click's choices can be computed again,
 * without a join, by the statement that makes its conversion. The expressions read the
 * statement's parameters from a one-row CTE `p` (see synthetic-sql.ts).
 */

/** One named parameter of a statement: name in `p`, SQL type, value. */
export type Param = [name: string, type: string, value: unknown];

/** One independent sequence of pseudo-random numbers per decision. Append, never renumber. */
export const stream = {
  clickTime: 1,
  clickLink: 2,
  clickVisitor: 3,
  linkProgram: 4,
  linkSource: 5,
  programBrand: 6,
  visitorProfile: 7,
  visitorIp: 8,
  clickReferrer: 9,
  referrerPage: 10,
  converts: 11,
  programRate: 12,
  conversionDelay: 13,
  conversionStatus: 14,
  programPayout: 15,
  conversionAmount: 16,
  brandCurrency: 17,
  pageviewTime: 18,
  pageviewVisitor: 19,
  pageviewMethod: 20,
  pageviewPath: 21,
  pageviewStatus: 22,
  pageviewBytes: 23,
  pageviewReferrer: 24,
  pageviewReferrerSite: 25,
} as const;

const STREAMS_PER_SEED = 64;
export const MICROS_PER_DAY = 86_400_000_000;
/** Clicks stop a minute before the end, so that each conversion fits after its click. */
const CLICK_MARGIN_MICROS = 60_000_000;

/** Busiest hour of the day (UTC) as a fraction of a day; the daily and weekly swings. */
const DAILY_PEAK = 20 / 24;
const DAILY_SWING = 0.6;
const WEEKLY_SWING = 0.25;
const DAILY_AMPLITUDE = DAILY_SWING / (2 * Math.PI);

export function hash(key: string, which: number): string {
  return `hashint8extended((${key})::bigint, p.seed * ${STREAMS_PER_SEED} + ${which})`;
}

/** A number in [0, 1) fixed by the seed, the stream and the key. */
export function uniform(key: string, which: number): string {
  return `((${hash(key, which)} & 9007199254740991)::float8 / 9007199254740992.0)`;
}

/** An integer from 1 to `count`, fixed by the seed, the stream and the key. */
export function pick(key: string, which: number, count: string | number): string {
  return `(1 + (${hash(key, which)} & 2147483647) % ${count})`;
}

/** The daily and weekly swing of event times (see offsetMicros), in SQL and in TypeScript. */
function swingSql(x: string): string {
  return `(${DAILY_AMPLITUDE} * sin(2 * pi() * (${x} - ${DAILY_PEAK}))
          + p.weekly_amplitude * sin(2 * pi() * (${x} - p.week_peak) / 7))`;
}

function swingAt(x: number, weeklyAmplitude: number, weekPeak: number): number {
  return (
    DAILY_AMPLITUDE * Math.sin(2 * Math.PI * (x - DAILY_PEAK)) +
    weeklyAmplitude * Math.sin((2 * Math.PI * (x - weekPeak)) / 7)
  );
}

/**
 * Microseconds after the start of event `n` of `p.total`. Events are spread evenly over the
 * span, then the time axis is bent, y = x - swing(x) + a straight line through both ends (so
 * that y runs from 0 to the span too), which packs events round 20:00 UTC and mid-week. The
 * bend never reverses time (its slope stays positive), so a later `n` is a later event.
 */
export function offsetMicros(n: string, jitter: number): string {
  const x = `((${n} - 1 + ${uniform(n, jitter)}) / p.total * p.span_days)`;
  const bent = `(${x} - ${swingSql(x)} + p.swing_at_start + ${x} * p.swing_slope)`;
  // Rounding could put y a hair outside the span: wrap it back rather than leave the window.
  const wrapped = `(${bent} - p.span_days * floor(${bent} / p.span_days))`;
  return `floor(${wrapped} * ${MICROS_PER_DAY})::bigint`;
}

/** The instant `micros` after the start, exact to the microsecond. */
export function at(micros: string): string {
  return `p.start + (${micros}) * interval '1 microsecond'`;
}

/** The parameters offsetMicros and `at` read, for `days` days from `start`. */
export function rhythmParams(start: Date, days: number): Param[] {
  const spanDays = (days * MICROS_PER_DAY - CLICK_MARGIN_MICROS) / MICROS_PER_DAY;
  // The weekly peak falls on Wednesday noon, counted in days from the start. A run shorter
  // than a week gets a smaller weekly swing, which keeps the bend's slope positive.
  const weekPeak = ((3 - start.getUTCDay() + 7) % 7) + 0.5;
  const weeklyAmplitude = (7 * WEEKLY_SWING * Math.min(1, spanDays / 7)) / (2 * Math.PI);
  const swingAtStart = swingAt(0, weeklyAmplitude, weekPeak);
  const swingAtEnd = swingAt(spanDays, weeklyAmplitude, weekPeak);

  return [
    ['start', 'timestamptz', start.toISOString()],
    ['span_days', 'float8', spanDays],
    ['end_micros', 'bigint', days * MICROS_PER_DAY],
    ['week_peak', 'float8', weekPeak],
    ['weekly_amplitude', 'float8', weeklyAmplitude],
    ['swing_at_start', 'float8', swingAtStart],
    ['swing_slope', 'float8', (swingAtEnd - swingAtStart) / spanDays],
  ];
}
