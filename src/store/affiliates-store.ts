import type pg from 'pg';

import { AppError } from '../errors.ts';

export interface Affiliate {
  id: number;
  name: string;
  features: string[];
}

/** Creates an affiliate, or updates its name and features when it exists. */
export async function upsertAffiliate(pool: pg.Pool, affiliate: Affiliate): Promise<Affiliate> {
  const result = await pool.query<Affiliate>(
    `INSERT INTO affiliates (id, name, features) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, features = EXCLUDED.features
     RETURNING id, name, features`,
    [affiliate.id, affiliate.name, affiliate.features],
  );
  return result.rows[0]!;
}

export async function getAffiliate(pool: pg.Pool, id: number): Promise<Affiliate> {
  const result = await pool.query<Affiliate>(
    'SELECT id, name, features FROM affiliates WHERE id = $1',
    [id],
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
