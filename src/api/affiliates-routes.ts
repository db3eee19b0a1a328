import type { FastifyInstance, FastifyRequest } from 'fastify';

import { readTimeZone } from '../engine/time-zone.ts';
import { AppError } from '../errors.ts';
import { getAffiliate, setAffiliateTimeZone, type Affiliate } from '../store/affiliates-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { authenticateAdmin, canSeeAffiliate } from './auth.ts';
import { affiliateIdSchema, problemSchema } from './connector-schemas.ts';

/**
 * An affiliate's own settings: read them, and change its time zone. Both need an AccountAdmin
 * token of that affiliate; no feature is needed, the zone is the affiliate's, not a connector's.
 */

const tags = ['affiliates'];
const security = [{ ApiKey: [] }];
const problems = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

const affiliateParams = {
  type: 'object',
  required: ['id'],
  properties: { id: affiliateIdSchema },
} as const;

const timeZoneProperty = {
  type: 'string',
  description:
    'IANA time zone name (UTC by default). Date-only fromDate / toDate of reloads mean days of this zone.',
  examples: ['Europe/Paris', 'America/New_York', 'UTC'],
} as const;

const affiliateSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    features: { type: 'array', items: { type: 'string' } },
    timeZone: timeZoneProperty,
  },
} as const;

const patchAffiliateBody = {
  type: 'object',
  additionalProperties: false,
  properties: { timeZone: timeZoneProperty },
} as const;

export function affiliateView(affiliate: Affiliate) {
  return {
    id: affiliate.id,
    name: affiliate.name,
    features: affiliate.features,
    timeZone: affiliate.timeZone,
  };
}

/** An AccountAdmin token that covers this affiliate; any other token is refused (403). */
async function requireAffiliateAdmin(deps: ApiDeps, request: FastifyRequest, id: number) {
  const principal = await authenticateAdmin(deps.pool, request);
  if (!canSeeAffiliate(principal, id)) {
    throw AppError.invalidField(
      'AFFILIATE_FORBIDDEN',
      'id',
      `the token does not give access to affiliate ${id}.`,
    );
  }
}

/**
 * The changes a PATCH body asks for. Checked by hand, not by the schema, so that a wrong time
 * zone of any type gets TIME_ZONE_INVALID with an example of a valid one.
 */
function readPatch(body: unknown): { timeZone?: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'body',
      'must be a JSON object such as {"timeZone": "Europe/Paris"}.',
    );
  }

  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((field) => field !== 'timeZone');
  if (unknown !== undefined) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      unknown,
      'is not a field that can be changed; only timeZone can.',
    );
  }
  return 'timeZone' in fields ? { timeZone: readTimeZone(fields.timeZone) } : {};
}

export function registerAffiliateRoutes(app: FastifyInstance, deps: ApiDeps) {
  app.get<{ Params: { id: number } }>(
    '/v1/affiliates/:id',
    {
      schema: {
        tags,
        security,
        summary: "Reads an affiliate's settings: name, features and time zone.",
        params: affiliateParams,
        response: { 200: affiliateSchema, ...problems },
      },
    },
    async (request) => {
      await requireAffiliateAdmin(deps, request, request.params.id);
      return affiliateView(await getAffiliate(deps.pool, request.params.id));
    },
  );

  app.patch<{ Params: { id: number } }>(
    '/v1/affiliates/:id',
    {
      // The schema documents the body; readPatch checks it, with TIME_ZONE_INVALID for the zone.
      attachValidation: true,
      schema: {
        tags,
        security,
        summary:
          "Changes an affiliate's time zone. Reloads queued before keep the window they were given.",
        params: affiliateParams,
        body: patchAffiliateBody,
        response: { 200: affiliateSchema, ...problems },
      },
    },
    async (request) => {
      if (request.validationError?.validationContext === 'params') throw request.validationError;
      const id = request.params.id;
      await requireAffiliateAdmin(deps, request, id);

      const patch = readPatch(request.body);
      if (patch.timeZone === undefined) return affiliateView(await getAffiliate(deps.pool, id));

      const affiliate = await setAffiliateTimeZone(deps.pool, id, patch.timeZone);
      request.log.info(
        { affiliateId: id, timeZone: affiliate.timeZone },
        'affiliate time zone changed',
      );
      return affiliateView(affiliate);
    },
  );
}
