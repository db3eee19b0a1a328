import {
  accountPeople,
  brandNames,
  programKinds,
  sitePaths,
  trafficSources,
  weightedProfiles,
} from './synthetic-vocabulary.ts';

/**
 * The SQL that makes synthetic tracking data inside PostgreSQL, from `generate_series`, so that
 * millions of rows never travel through JavaScript. Every choice is a pseudo-random number
 * computed from (seed, stream, key) with `hashint8extended`, never `random()`: the same seed
 * gives the same rows, and a click's attributes can be computed again, without a join, when
 * its conversion is made in another statement.
 */

export const dimensionCounts = {
  brands: brandNames.length,
  programs: 60,
  accounts: accountPeople.length,
  trafficSources: trafficSources.length,
  links: 300,
};

/** A parameterised statement. */
export interface Statement {
  sql: string;
  values: unknown[];
}

/** What one run generates; `start` is a UTC midnight. */
export interface SyntheticRun {
  affiliateId: number;
  seed: number;
  start: Date;
  days: number;
  clicks: number;
  pageviews: number;
}

/** One independent sequence of pseudo-random numbers per decision. Append, never renumber. */
const stream = {
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
} as const;

const STREAMS_PER_SEED = 64;
const MICROS_PER_DAY = 86_400_000_000;
/** Clicks stop a minute before the end, so that each conversion fits after its click. */
const CLICK_MARGIN_MICROS = 60_000_000;

/** Busiest hour of the day (UTC), as a fraction of a day, and the daily and weekly swings. */
const DAILY_PEAK = 20 / 24;
const DAILY_SWING = 0.6;
const WEEKLY_SWING = 0.25;
const DAILY_AMPLITUDE = DAILY_SWING / (2 * Math.PI);
/** Conversions come 1 minute to 3 days after their click, evenly on a log scale. */
const MAX_DELAY_MINUTES = 3 * 24 * 60;

function hash(key: string, which: number): string {
  return `hashint8extended((${key})::bigint, p.seed * ${STREAMS_PER_SEED} + ${which})`;
}

/** A number in [0, 1) fixed by the seed, the stream and the key. */
function uniform(key: string, which: number): string {
  return `((${hash(key, which)} & 9007199254740991)::float8 / 9007199254740992.0)`;
}

/** An integer from 1 to `count`, fixed by the seed, the stream and the key. */
function pick(key: string, which: number, count: string | number): string {
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
function offsetMicros(n: string, jitter: number): string {
  const x = `((${n} - 1 + ${uniform(n, jitter)}) / p.total * p.span_days)`;
  const bent = `(${x} - ${swingSql(x)} + p.swing_at_start + ${x} * p.swing_slope)`;
  // Rounding could put y a hair outside the span: wrap it back rather than leave the window.
  const wrapped = `(${bent} - p.span_days * floor(${bent} / p.span_days))`;
  return `floor(${wrapped} * ${MICROS_PER_DAY})::bigint`;
}

function at(micros: string): string {
  return `p.start + (${micros}) * interval '1 microsecond'`;
}

function ip(visitor: string): string {
  // 200 × 2^24 addresses from 11.0.0.0 on: public-looking, never 0.x or 10.x.
  return `host('11.0.0.0'::inet + (${hash(visitor, stream.visitorIp)} & 4294967295) % 3355443200)`;
}

function profile(visitor: string, field: 'devices' | 'oses' | 'agents'): string {
  return `p.${field}[${pick(visitor, stream.visitorProfile, weightedProfiles.length)}]`;
}

const programOfLink = (link: string) => pick(link, stream.linkProgram, dimensionCounts.programs);
const sourceOfLink = (link: string) =>
  pick(link, stream.linkSource, dimensionCounts.trafficSources);
const brandOfProgram = (program: string) =>
  pick(program, stream.programBrand, dimensionCounts.brands);

type Param = [name: string, type: string, value: unknown];

/** `WITH p AS (SELECT $1::type AS name, ...)`: every value travels as a parameter. */
function withParams(params: Param[], body: string): Statement {
  const columns = params.map(([name, type], index) => `$${index + 1}::${type} AS ${name}`);
  return {
    sql: `WITH p AS (SELECT ${columns.join(', ')}) ${body}`,
    values: params.map(([, , value]) => value),
  };
}

function commonParams(run: SyntheticRun): Param[] {
  return [
    ['affiliate', 'integer', run.affiliateId],
    ['seed', 'bigint', run.seed],
    ['prefix', 'text', `g${run.seed}-`],
  ];
}

/** Params of an event statement over `n` from `firstN` to `lastN` of `total`. */
function eventParams(run: SyntheticRun, total: number, firstN: number, lastN: number): Param[] {
  const spanDays = (run.days * MICROS_PER_DAY - CLICK_MARGIN_MICROS) / MICROS_PER_DAY;
  // The weekly peak falls on Wednesday noon, counted in days from the start. A run shorter
  // than a week gets a smaller weekly swing, which keeps the bend's slope positive.
  const weekPeak = ((3 - run.start.getUTCDay() + 7) % 7) + 0.5;
  const weeklyAmplitude = (7 * WEEKLY_SWING * Math.min(1, spanDays / 7)) / (2 * Math.PI);
  const swingAtStart = swingAt(0, weeklyAmplitude, weekPeak);
  const swingAtEnd = swingAt(spanDays, weeklyAmplitude, weekPeak);
  return [
    ...commonParams(run),
    ['start', 'timestamptz', run.start.toISOString()],
    ['span_days', 'float8', spanDays],
    ['end_micros', 'bigint', run.days * MICROS_PER_DAY],
    ['week_peak', 'float8', weekPeak],
    ['weekly_amplitude', 'float8', weeklyAmplitude],
    ['swing_at_start', 'float8', swingAtStart],
    ['swing_slope', 'float8', (swingAtEnd - swingAtStart) / spanDays],
    ['total', 'bigint', total],
    ['first_n', 'bigint', firstN],
    ['last_n', 'bigint', lastN],
    ['visitors', 'bigint', Math.max(50, Math.ceil(run.clicks / 3))],
    ['devices', 'text[]', weightedProfiles.map((entry) => entry.device)],
    ['oses', 'text[]', weightedProfiles.map((entry) => entry.os)],
    ['agents', 'text[]', weightedProfiles.map((entry) => entry.userAgent)],
    ['domains', 'text[]', trafficSources.map((source) => source.domain)],
    ['paths', 'text[]', sitePaths],
  ];
}

/** Clicks `n` of the batch with the choices their conversions need too. */
const clickRows = `c AS (
  SELECT n, link, ${programOfLink('link')} AS program, ${sourceOfLink('link')} AS source,
         visitor, offset_micros
    FROM p, generate_series(p.first_n, p.last_n) AS n,
         LATERAL (SELECT 1 + floor(${dimensionCounts.links} * power(${uniform('n', stream.clickLink)}, 2))::bigint AS link,
                         ${pick('n', stream.clickVisitor, 'p.visitors')} AS visitor,
                         ${offsetMicros('n', stream.clickTime)} AS offset_micros) AS chosen)`;

export function clicksStatement(run: SyntheticRun, firstN: number, lastN: number): Statement {
  const referrer = `CASE WHEN ${uniform('c.n', stream.clickReferrer)} < 0.2 THEN NULL
    ELSE 'https://' || p.domains[c.source] || '/a/' || ${pick('c.n', stream.referrerPage, 2000)} END`;

  return withParams(
    eventParams(run, run.clicks, firstN, lastN),
    `, ${clickRows}
    INSERT INTO clicks (affiliate_id, id, occurred_at, brand_id, program_id, traffic_source_id,
                        link_id, ip, device, os, user_agent, referrer)
    SELECT p.affiliate, p.prefix || 'c' || c.n, ${at('c.offset_micros')},
           p.prefix || 'b' || ${brandOfProgram('c.program')}, p.prefix || 'p' || c.program,
           p.prefix || 't' || c.source, p.prefix || 'l' || c.link, ${ip('c.visitor')},
           ${profile('c.visitor', 'devices')}, ${profile('c.visitor', 'oses')},
           ${profile('c.visitor', 'agents')}, ${referrer}
      FROM p, c
    ON CONFLICT (affiliate_id, id) DO NOTHING`,
  );
}

/** Conversions of 2-4% of the batch's clicks (the rate depends on the program). */
export function conversionsStatement(run: SyntheticRun, firstN: number, lastN: number): Statement {
  const delay = `floor(60000000 * exp(${uniform('c.n', stream.conversionDelay)} * ln(${MAX_DELAY_MINUTES})))::bigint`;
  const status = uniform('c.n', stream.conversionStatus);
  const payout = `(5 + 195 * ${uniform('c.program', stream.programPayout)})`;
  const brand = brandOfProgram('c.program');

  return withParams(
    eventParams(run, run.clicks, firstN, lastN),
    `, ${clickRows}
    INSERT INTO conversions (affiliate_id, id, occurred_at, click_id, brand_id, program_id,
                             traffic_source_id, status, amount, currency)
    SELECT p.affiliate, p.prefix || 'v' || c.n,
           ${at(`c.offset_micros + least(${delay}, p.end_micros - 1 - c.offset_micros)`)},
           p.prefix || 'c' || c.n, p.prefix || 'b' || ${brand}, p.prefix || 'p' || c.program,
           p.prefix || 't' || c.source,
           CASE WHEN ${status} < 0.6 THEN 'approved' WHEN ${status} < 0.9 THEN 'pending'
                ELSE 'rejected' END,
           round((${payout} * (0.5 + ${uniform('c.n', stream.conversionAmount)}))::numeric, 4),
           (ARRAY['USD', 'USD', 'USD', 'EUR', 'EUR', 'GBP'])[${pick(brand, stream.brandCurrency, 6)}]
      FROM p, c
     WHERE ${uniform('c.n', stream.converts)} < 0.02 + 0.02 * ${uniform('c.program', stream.programRate)}
    ON CONFLICT (affiliate_id, id) DO NOTHING`,
  );
}

export function pageviewsStatement(run: SyntheticRun, firstN: number, lastN: number): Statement {
  const method = uniform('v.n', stream.pageviewMethod);
  const referrer = `CASE WHEN ${uniform('v.n', stream.pageviewReferrer)} < 0.4 THEN NULL
    ELSE 'https://' || p.domains[${pick('v.n', stream.pageviewReferrer, trafficSources.length)}] || '/' END`;

  return withParams(
    eventParams(run, run.pageviews, firstN, lastN),
    `, v AS (
      SELECT n, ${pick('n', stream.pageviewVisitor, 'p.visitors')} AS visitor,
             ${uniform('n', stream.pageviewStatus)} AS status
        FROM p, generate_series(p.first_n, p.last_n) AS n)
    INSERT INTO pageviews (affiliate_id, id, occurred_at, ip, method, path, status_code, bytes,
                           referrer, user_agent)
    SELECT p.affiliate, p.prefix || 'pv' || v.n, ${at(offsetMicros('v.n', stream.pageviewTime))},
           ${ip('v.visitor')},
           CASE WHEN ${method} < 0.92 THEN 'GET' WHEN ${method} < 0.98 THEN 'POST' ELSE 'HEAD' END,
           p.paths[${pick('v.n', stream.pageviewPath, sitePaths.length)}],
           CASE WHEN v.status < 0.88 THEN 200 WHEN v.status < 0.94 THEN 304
                WHEN v.status < 0.96 THEN 301 WHEN v.status < 0.99 THEN 404 ELSE 500 END,
           CASE WHEN v.status >= 0.88 AND v.status < 0.96 THEN 0
                ELSE floor(300 * exp(5 * ${uniform('v.n', stream.pageviewBytes)}))::bigint END,
           ${referrer}, ${profile('v.visitor', 'agents')}
      FROM p, v
    ON CONFLICT (affiliate_id, id) DO NOTHING`,
  );
}

/** The five dimension tables, small and fixed in size, linked as the events use them. */
export function dimensionStatements(run: SyntheticRun): Array<[table: string, Statement]> {
  const params: Param[] = [
    ...commonParams(run),
    ['brand_names', 'text[]', brandNames],
    ['kinds', 'text[]', programKinds],
    ['people', 'text[]', accountPeople.map((names) => names.join(' '))],
    ['sources', 'text[]', trafficSources.map((source) => source.name)],
  ];
  const series = (count: number) => `FROM p, generate_series(1::bigint, ${count}) AS k`;
  const insert = (table: string, columns: string, select: string): [string, Statement] => [
    table,
    withParams(
      params,
      `INSERT INTO ${table} (affiliate_id, id, ${columns}) ${select}
       ON CONFLICT (affiliate_id, id) DO NOTHING`,
    ),
  ];

  return [
    insert(
      'brands',
      'name',
      `SELECT p.affiliate, p.prefix || 'b' || k, p.brand_names[k] ${series(dimensionCounts.brands)}`,
    ),
    insert(
      'programs',
      'name, brand_id',
      `SELECT p.affiliate, p.prefix || 'p' || k,
              p.brand_names[${brandOfProgram('k')}] || ' ' ||
                p.kinds[1 + (k - 1) % ${programKinds.length}],
              p.prefix || 'b' || ${brandOfProgram('k')}
         ${series(dimensionCounts.programs)}`,
    ),
    insert(
      'accounts',
      'name, email',
      `SELECT p.affiliate, p.prefix || 'a' || k, p.people[k],
              lower(replace(p.people[k], ' ', '.')) || '@partners.example'
         ${series(dimensionCounts.accounts)}`,
    ),
    insert(
      'traffic_sources',
      'name',
      `SELECT p.affiliate, p.prefix || 't' || k, p.sources[k] ${series(dimensionCounts.trafficSources)}`,
    ),
    insert(
      'links',
      'url, program_id, traffic_source_id',
      `SELECT p.affiliate, p.prefix || 'l' || k,
              'https://go.partners.example/' || p.prefix || 'l' || k,
              p.prefix || 'p' || ${programOfLink('k')}, p.prefix || 't' || ${sourceOfLink('k')}
         ${series(dimensionCounts.links)}`,
    ),
  ];
}
