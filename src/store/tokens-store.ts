import { createHash, randomBytes } from 'node:crypto';

import type pg from 'pg';

import { inTransaction } from '../sql/transactions.ts';

export const policies = ['AccountAdmin', 'AccountUser', 'TrackingWriter'] as const;
export type Policy = (typeof policies)[number];

const TOKEN_PREFIX = 'amk_';

/** Who is calling: resolved from an API token. */
export interface Principal {
  tokenId: number;
  policy: Policy;
  affiliateIds: number[];
}

/**
 * Tokens are 32 random bytes; only their SHA-256 is stored. A slow password hash is not
 * needed: a token has far more entropy than any password, so the digest cannot be reversed.
 */
function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Creates a token for the given affiliates and returns it: the only time it is ever shown. */
export async function createToken(
  pool: pg.Pool,
  policy: Policy,
  affiliateIds: number[],
): Promise<string> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await inTransaction(pool, async (client) => {
    const inserted = await client.query<{ id: number }>(
      `INSERT INTO api_tokens (token_hash, token_prefix, policy) VALUES ($1, $2, $3) RETURNING id`,
      [hashToken(token), token.slice(0, TOKEN_PREFIX.length + 6), policy],
    );
    await client.query(
      `INSERT INTO api_token_affiliates (token_id, affiliate_id) SELECT $1, unnest($2::int[])`,
      [inserted.rows[0]!.id, affiliateIds],
    );
  });
  return token;
}

export async function findPrincipal(pool: pg.Pool, token: string): Promise<Principal | undefined> {
  const result = await pool.query<{ id: number; policy: Policy; affiliate_ids: number[] }>(
    `SELECT t.id, t.policy, array_agg(a.affiliate_id) FILTER (WHERE a.affiliate_id IS NOT NULL) AS affiliate_ids
       FROM api_tokens t LEFT JOIN api_token_affiliates a ON a.token_id = t.id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL
      GROUP BY t.id`,
    [hashToken(token)],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return { tokenId: row.id, policy: row.policy, affiliateIds: row.affiliate_ids ?? [] };
}
