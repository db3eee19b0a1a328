/**
 * The bench's data: its affiliates and token, the synthetic rows (made by the repo's own
 * generator, the one behind `affiliate-mirror generate`), the reload windows over them, and
 * the source changes of the "10% changed, 1% deleted" case.
 */
import type pg from 'pg';

import { CONNECTOR_FEATURE } from '../src/api/auth.ts';
import { formatMicros, parseInstant } from '../src/engine/reload-window.ts';
import type { TimeRange } from '../src/destinations/destination.ts';
import { generateSyntheticData } from '../src/importers/synthetic-generator.ts';
import type { Logger } from '../src/logger.ts';
import { upsertAffiliate } from '../src/store/affiliates-store.ts';
import { createToken } from '../src/store/tokens-store.ts';

/**
 * One affiliate per part of the bench, so that no part sees another's rows. The reloads and
 * the memory windows share one affiliate's generated rows: generating is the slow part.
 */
export const affiliates = {
  reload: 9001,
  ingest: 9003,
  lag: 9004,
} as const;

export const FIRST_DAY = '2025-01-01';
const DAY_MS = 86_400_000;

/** A reload window of whole UTC days: the API's dates and the store's half-open range. */
export interface Window {
  fromDate: string;
  toDate: string;
  range: TimeRange;
  days: number;
}

/** The instant `day` days after the first day, as the store's source queries want it. */
function dayStart(day: number): string {
  const date = new Date(Date.parse(`${FIRST_DAY}T00:00:00Z`) + day * DAY_MS);
  return formatMicros(parseInstant(date.toISOString().slice(0, 10), 'from')!.micros);
}

export function windowOfDays(days: number): Window {
  const toDate = new Date(Date.parse(`${FIRST_DAY}T00:00:00Z`) + (days - 1) * DAY_MS);
  return {
    fromDate: FIRST_DAY,
    toDate: toDate.toISOString().slice(0, 10),
    days,
    range: { from: dayStart(0), toExclusive: dayStart(days) },
  };
}

/** The window's single days, as the runner plans its chunks. */
export function dayRanges(days: number): TimeRange[] {
  return Array.from({ length: days }, (_, day) => ({
    from: dayStart(day),
    toExclusive: dayStart(day + 1),
  }));
}

/** The bench's affiliates, with the connector feature, and one AccountAdmin token for all. */
export async function createTenants(pool: pg.Pool): Promise<string> {
  for (const [part, id] of Object.entries(affiliates)) {
    await upsertAffiliate(pool, { id, name: `bench ${part}`, features: [CONNECTOR_FEATURE] });
  }
  return createToken(pool, 'AccountAdmin', Object.values(affiliates));
}

/** `clicks` synthetic clicks (with their conversions and page views) over `days` days. */
export async function generateClicks(
  pool: pg.Pool,
  affiliateId: number,
  clicks: number,
  days: number,
  logger: Logger,
) {
  return generateSyntheticData(pool, {
    affiliateId,
    clicks,
    days,
    seed: affiliateId,
    start: new Date(`${FIRST_DAY}T00:00:00Z`),
    logger,
  });
}

export async function countClicks(pool: pg.Pool, affiliateId: number, range: TimeRange) {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM clicks
      WHERE affiliate_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz`,
    [affiliateId, range.from, range.toExclusive],
  );
  return result.rows[0]!.n;
}

/**
 * Changes every tenth click of the window (its referrer) and deletes one in a hundred, with
 * plain SQL on the store, so the store's triggers stamp change_seq and record the deletions as
 * for any other write. Generated ids end in the click's number, which picks the rows evenly.
 */
export async function changeSourceRows(pool: pg.Pool, affiliateId: number, range: TimeRange) {
  const inWindow = `affiliate_id = $1 AND occurred_at >= $2::timestamptz
    AND occurred_at < $3::timestamptz`;
  const values = [affiliateId, range.from, range.toExclusive];
  const number = `substring(id FROM '[0-9]+$')::bigint`;

  const updated = await pool.query(
    `UPDATE clicks SET referrer = coalesce(referrer, 'https://example.org/') || '?bench=changed'
      WHERE ${inWindow} AND ${number} % 10 = 0`,
    values,
  );
  const deleted = await pool.query(
    `DELETE FROM clicks WHERE ${inWindow} AND ${number} % 100 = 1`,
    values,
  );
  return { updated: updated.rowCount ?? 0, deleted: deleted.rowCount ?? 0 };
}
