import type { FastifyRequest } from 'fastify';

import { AppError } from '../errors.ts';
import { getConnector, type ConnectorRecord } from '../store/connectors-store.ts';
import type { Principal } from '../store/tokens-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { authenticateAdmin, canSeeAffiliate, CONNECTOR_FEATURE, requireFeature } from './auth.ts';

/** A connector as the API shows it: never with its password. */
export function connectorView(connector: ConnectorRecord) {
  return {
    id: connector.id,
    affiliateId: connector.affiliateId,
    engine: connector.engine,
    host: connector.host,
    port: connector.port,
    database: connector.database,
    schema: connector.schema,
    username: connector.username,
    useSsl: connector.useSsl,
    enabled: connector.enabled,
    createdAt: connector.createdAt.toISOString(),
    updatedAt: connector.updatedAt.toISOString(),
  };
}

/** The caller may manage connectors of this affiliate: visible to the token, feature on. */
export async function requireAffiliateAccess(
  deps: ApiDeps,
  principal: Principal,
  affiliateId: number,
) {
  if (!canSeeAffiliate(principal, affiliateId)) {
    throw AppError.invalidField(
      'AFFILIATE_FORBIDDEN',
      'affiliateId',
      `the token does not give access to affiliate ${affiliateId}.`,
    );
  }
  await requireFeature(deps.pool, affiliateId, CONNECTOR_FEATURE);
}

/**
 * The guard of every `/connectors/{id}` route: an AccountAdmin token, a connector of one of
 * its affiliates (another affiliate's connector is reported as missing, not as forbidden, so
 * ids cannot be probed), and the feature on that affiliate.
 */
export async function loadManagedConnector(deps: ApiDeps, request: FastifyRequest, id: number) {
  const principal = await authenticateAdmin(deps.pool, request);
  const connector = await getConnector(deps.pool, id);

  if (!connector || !canSeeAffiliate(principal, connector.affiliateId)) {
    throw new AppError(
      'CONNECTOR_NOT_FOUND',
      `No connector ${id} among the affiliates of this token.`,
    );
  }
  await requireFeature(deps.pool, connector.affiliateId, CONNECTOR_FEATURE);
  return { principal, connector };
}
