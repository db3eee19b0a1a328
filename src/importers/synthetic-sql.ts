import {
  accountPeople,
  brandNames,
  programKinds,
  sitePaths,
  trafficSources,
  weightedProfiles,
} from './synthetic-vocabulary.ts';
import {
  at,
  hash,
  offsetMicros,
  pick,
  rhythmParams,
  stream,
  uniform,
  type Param,
} from './synthetic-random.ts';

/**
 * The statements that make synthetic tracking data inside PostgreSQL, from `generate_series`,
 * so that millions of rows never travel through JavaScript. Each statement starts with a
 * one-row CTE `p` holding its parameters, which the expressions of synthetic-random.ts read.
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

/** Conversions come 1 minute to 3 days after their click, evenly on a log scale. */
const MAX_DELAY_MINUTES = 3 * 24 * 60;

function ip(visitor: string): string {
  // 200 × 2^24 addresses from 11.0.0.0 on: public-looking, never 0.x or 10.x.
  const offset = `(${hash(visitor, stream.visitorIp)} & 4294967295) % 3355443200`;
  return `host('11.0.0.0'::inet + ${offset})`;
}

function profile(visitor: string, field: 'devices' | 'oses' | 'agents'): string {
  return `p.${field}[${pick(visitor, stream.visitorProfile, weightedProfiles.length)}]`;
}

const programOfLink = (link: string) => pick(link, stream.linkProgram, dimensionCounts.programs);
const sourceOfLink = (link: string) =>
  pick(link, stream.linkSource, dimensionCounts.trafficSources);
const brandOfProgram = (program: string) =>
  pick(program, stream.programBrand, dimensionCounts.brands);

/**
 * An event batch is first written without a conflict clause, which costs a fifth less; the
 * generator writes it again keeping existing rows when an earlier run made some of them.
 */
function onConflict(keepExisting: boolean): string {
  return keepExisting ? 'ON CONFLICT (affiliate_id, id) DO NOTHING' : '';
}

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
  return [
    ...commonParams(run),
    ...rhythmParams(run.start, run.days),
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

/** Links are picked with a skew: the first ones are the popular ones. */
const skewed = `power(${uniform('n', stream.clickLink)}, 2)`;
const clickLink = `1 + floor(${dimensionCounts.links} * ${skewed})`;

/** Clicks `n` of the batch with the choices their conversions need too. */
const clickRows = `c AS (
  SELECT n, link, ${programOfLink('link')} AS program, ${sourceOfLink('link')} AS source,
         visitor, offset_micros
    FROM p, generate_series(p.first_n, p.last_n) AS n,
         LATERAL (SELECT ${clickLink}::bigint AS link,
                         ${pick('n', stream.clickVisitor, 'p.visitors')} AS visitor,
                         ${offsetMicros('n', stream.clickTime)} AS offset_micros) AS chosen)`;

export function clicksStatement(
  run: SyntheticRun,
  firstN: number,
  lastN: number,
  keepExisting: boolean,
): Statement {
  const page = pick('c.n', stream.referrerPage, 2000);
  const referrer = `CASE WHEN ${uniform('c.n', stream.clickReferrer)} < 0.2 THEN NULL
    ELSE 'https://' || p.domains[c.source] || '/a/' || ${page} END`;

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
    ${onConflict(keepExisting)}`,
  );
}

/** Conversions of 2-4% of the batch's clicks (the rate depends on the program). */
export function conversionsStatement(
  run: SyntheticRun,
  firstN: number,
  lastN: number,
  keepExisting: boolean,
): Statement {
  const logDelay = `${uniform('c.n', stream.conversionDelay)} * ln(${MAX_DELAY_MINUTES})`;
  const delay = `floor(60000000 * exp(${logDelay}))::bigint`;
  const rate = `0.02 + 0.02 * ${uniform('c.program', stream.programRate)}`;
  const status = uniform('c.n', stream.conversionStatus);
  const payout = `(5 + 195 * ${uniform('c.program', stream.programPayout)})`;
  const brand = brandOfProgram('c.program');
  const currency = pick(brand, stream.brandCurrency, 6);

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
           (ARRAY['USD', 'USD', 'USD', 'EUR', 'EUR', 'GBP'])[${currency}]
      FROM p, c
     WHERE ${uniform('c.n', stream.converts)} < ${rate}
    ${onConflict(keepExisting)}`,
  );
}

export function pageviewsStatement(
  run: SyntheticRun,
  firstN: number,
  lastN: number,
  keepExisting: boolean,
): Statement {
  const method = uniform('v.n', stream.pageviewMethod);
  const site = pick('v.n', stream.pageviewReferrerSite, trafficSources.length);
  const referrer = `CASE WHEN ${uniform('v.n', stream.pageviewReferrer)} < 0.4 THEN NULL
    ELSE 'https://' || p.domains[${site}] || '/' END`;

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
    ${onConflict(keepExisting)}`,
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
      `SELECT p.affiliate, p.prefix || 'b' || k, p.brand_names[k]
         ${series(dimensionCounts.brands)}`,
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
      `SELECT p.affiliate, p.prefix || 't' || k, p.sources[k]
         ${series(dimensionCounts.trafficSources)}`,
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
