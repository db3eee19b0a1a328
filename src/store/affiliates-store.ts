import type pg from 'pg';

import { AppError } from '../errors.ts';

/** Affiliates (tenants) of the platform store: who they are, what they may use, their zone. */

export interface Affiliate {
  id: number;
  name: string;
  features: string[];
  /** IANA name of the zone whose days date-only reload windows mean; `UTC` by default. */
  timeZone: string;
}

export interface AffiliateInput {
  id: number;
  name: string;
  features: string[];
  /** Omitted: UTC for a new affiliate, unchanged for an existing one. */
  timeZone?: string;
}

const AFFILIATE_COLUMNS = 'id, name, features, time_zone AS "timeZone"';

/**
 * Creates an affiliate, or updates its name and features when it exists. Its time zone is
 * changed only when one is given, so re-running a create does not reset it to UTC.
 */
export async function upsertAffiliate(
  pool: pg.Pool,
  affiliate: AffiliateInput,
): Promise<Affiliate> {
  const result = await pool.query<Affiliate>(
    `INSERT INTO affiliates (id, name, features, time_zone)
     VALUES ($1, $2, $3, coalesce($4, 'UTC'))
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, features = EXCLUDED.features,
            time_zone = coalesce($4, affiliates.time_zone)
     RETURNING ${AFFILIATE_COLUMNS}`,
    [affiliate.id, affiliate.name, affiliate.features, affiliate.timeZone ?? null],
  );
  return result.rows[0]!;
}

export async function getAffiliate(pool: pg.Pool, id: number): Promise<Affiliate> {
  const result = await pool.query<Affiliate>(
    `SELECT ${AFFILIATE_COLUMNS} FROM affiliates WHERE id = $1`,
    [id],
  );
  if (!result.rows[0]) throw new AppError('AFFILIATE_NOT_FOUND', `No affiliate with id ${id}.`);
  return result.rows[0];
}

/**
 * Sets an affiliate's time zone (already checked by the caller). Executions already queued or
 * running keep the window they were resolved with.
 */
export async function setAffiliateTimeZone(
  pool: pg.Pool,
  id: number,
  timeZone: string,
): Promise<Affiliate> {
  const result = await pool.query<Affiliate>(
    `UPDATE affiliates SET time_zone = $2 WHERE id = $1 RETURNING ${AFFILIATE_COLUMNS}`,
    [id, timeZone],
  );
  if (!result.rows[0]) throw new AppError('AFFILIATE_NOT_FOUND', `No affiliate with id ${id}.`);
  return result.rows[0];
}

export async function countAffiliates(pool: pg.Pool): Promise<number> {
  const result = await pool.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM affiliates',
  );
  return result.rows[0]!.count;
}
