import type { FastifyRequest } from 'fastify';
import type pg from 'pg';

import { AppError } from '../errors.ts';
import { getAffiliate } from '../store/affiliates-store.ts';
import { findPrincipal, type Policy, type Principal } from '../store/tokens-store.ts';

export const CONNECTOR_FEATURE = 'database_connector';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const API_KEY_HEADER = /^ApiKey\s+(\S+)\s*$/i;

/** Resolves `Authorization: ApiKey <token>` to a principal, or throws a 401. */
export async function authenticate(pool: pg.Pool, request: FastifyRequest): Promise<Principal> {
  if (request.principal) return request.principal;

  const header = request.headers.authorization;
  if (!header) throw new AppError('AUTH_MISSING');

  const token = API_KEY_HEADER.exec(header)?.[1];
  if (!token)
    throw new AppError('AUTH_MISSING', 'The Authorization header must be "ApiKey <token>".');

  const principal = await findPrincipal(pool, token);
  if (!principal) throw new AppError('AUTH_INVALID');

  request.principal = principal;
  return principal;
}

export function requirePolicy(principal: Principal, policy: Policy): void {
  if (principal.policy !== policy) {
    throw new AppError(
      'POLICY_FORBIDDEN',
      `This operation needs the ${policy} policy; the token has ${principal.policy}.`,
    );
  }
}

export function canSeeAffiliate(principal: Principal, affiliateId: number): boolean {
  return principal.affiliateIds.includes(affiliateId);
}

/** The affiliate must be one of the caller's and have the feature switched on. */
export async function requireFeature(pool: pg.Pool, affiliateId: number, feature: string) {
  const affiliate = await getAffiliate(pool, affiliateId);
  if (!affiliate.features.includes(feature)) {
    throw new AppError(
      'FEATURE_DISABLED',
      `Affiliate ${affiliateId} does not have the ${feature} feature.`,
    );
  }
}

/**
 * The guard of every connector endpoint: a valid token with the AccountAdmin policy.
 * Affiliate checks (visibility, feature) follow once the route knows which affiliate it touches.
 */
export async function authenticateAdmin(
  pool: pg.Pool,
  request: FastifyRequest,
): Promise<Principal> {
  const principal = await authenticate(pool, request);
  requirePolicy(principal, 'AccountAdmin');
  return principal;
}
