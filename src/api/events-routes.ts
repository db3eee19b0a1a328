import type { FastifyInstance, FastifyRequest } from 'fastify';

import { AppError, asError } from '../errors.ts';
import { deleteEvent, upsertEventRows, type EventRows } from '../store/events-store.ts';
import type { Policy } from '../store/tokens-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { authenticate, canSeeAffiliate } from './auth.ts';
import { problemSchema } from './connector-schemas.ts';
import {
  eventShapes,
  eventTypes,
  parseEventBatch,
  type EventBatch,
  type EventType,
} from './event-input.ts';
import {
  affiliateIdParam,
  eventKeyParams,
  eventsAcceptedSchema,
  eventsBodySchema,
} from './event-schemas.ts';
import { parseEventsJson } from './events-json.ts';

/** 10,000 events with long user agents and referrers are ~5 MiB; room to spare. */
const EVENTS_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const WRITER_POLICIES: readonly Policy[] = ['TrackingWriter', 'AccountAdmin'];

const tags = ['events'];
const security = [{ ApiKey: [] }];
const problems = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

/**
 * The caller may write this affiliate's tracking data. An affiliate the token does not name is
 * refused alike whether it exists or not: a token learns nothing about other affiliates. (A
 * token names only affiliates that exist: the store's keys see to that.)
 */
async function authorizeWriter(deps: ApiDeps, request: FastifyRequest, affiliateId: number) {
  const principal = request.principal ?? (await authenticate(deps.pool, request));
  if (!WRITER_POLICIES.includes(principal.policy)) {
    const needed = WRITER_POLICIES.join(' or ');
    throw new AppError(
      'POLICY_FORBIDDEN',
      `Writing events needs a ${needed} token; this one is ${principal.policy}.`,
    );
  }
  if (canSeeAffiliate(principal, affiliateId)) return;

  throw AppError.invalidField(
    'AFFILIATE_FORBIDDEN',
    'affiliateId',
    `the token does not give access to affiliate ${affiliateId}.`,
  );
}

/** Read by hand: the guard runs before schema validation, and the POST route skips it. */
function readAffiliateId(params: unknown): number {
  const text = (params as { affiliateId?: string }).affiliateId ?? '';
  const id = Number(text);
  if (!/^\d{1,10}$/.test(text) || id < affiliateIdParam.minimum || id > affiliateIdParam.maximum) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'affiliateId',
      `must be an integer from 1 to ${affiliateIdParam.maximum}.`,
    );
  }
  return id;
}

function tableRows(batch: EventBatch): EventRows[] {
  return eventTypes.map((type) => ({
    table: eventShapes[type].table,
    columns: eventShapes[type].columns,
    rows: [...batch.rows[type].values()],
  }));
}

function registerIngestRoute(scope: FastifyInstance, deps: ApiDeps) {
  scope.post(
    '/v1/affiliates/:affiliateId/events',
    {
      bodyLimit: EVENTS_BODY_LIMIT_BYTES,
      // The schema documents the request; parseEventBatch checks it item by item, because AJV
      // over 10,000 items costs more than writing them, and it would refuse the whole request
      // for one bad item.
      validatorCompiler: () => () => true,
      schema: {
        tags,
        security,
        summary: 'Adds or updates up to 10,000 clicks, conversions and page views.',
        description:
          'Each event is upserted by (affiliate, type, id): a new id is inserted, a known one is ' +
          'replaced when a value differs (fields left out become null), and an identical event ' +
          'changes nothing. Invalid items are listed in `rejected` with their index; the valid ' +
          'ones are stored, all in one transaction.',
        params: { type: 'object', properties: { affiliateId: affiliateIdParam } },
        body: eventsBodySchema,
        response: { 200: eventsAcceptedSchema, ...problems },
      },
    },
    async (request) => {
      const affiliateId = readAffiliateId(request.params);
      const batch = parseEventBatch(request.body);
      const changed = await upsertEventRows(deps.pool, affiliateId, tableRows(batch));
      request.log.info(
        { affiliateId, accepted: batch.accepted, changed, rejected: batch.rejected.length },
        'events ingested',
      );
      return {
        accepted: batch.accepted,
        changed,
        nulBytesStripped: batch.nulBytesStripped,
        rejected: batch.rejected,
      };
    },
  );
}

function registerDeleteRoute(scope: FastifyInstance, deps: ApiDeps) {
  scope.delete<{ Params: { affiliateId: number; type: EventType; id: string } }>(
    '/v1/affiliates/:affiliateId/events/:type/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Deletes one event; the mirror removes it at its next sync.',
        params: eventKeyParams,
        response: { 204: { type: 'null' }, ...problems },
      },
    },
    async (request, reply) => {
      const { affiliateId, type, id } = request.params;
      // No stored id holds NUL (ingest refuses them), and PostgreSQL cannot even compare one.
      if (id.includes('\0')) {
        throw AppError.invalidField('VALIDATION_FAILED', 'id', 'must not contain NUL characters.');
      }
      const deleted = await deleteEvent(deps.pool, affiliateId, eventShapes[type].table, id);
      if (!deleted) {
        throw new AppError('EVENT_NOT_FOUND', `Affiliate ${affiliateId} has no ${type} "${id}".`);
      }
      request.log.info({ affiliateId, type, id }, 'event deleted');
      return reply.code(204).send();
    },
  );
}

/** Replaces this scope's JSON parser with one that keeps amounts exact (events-json.ts). */
function useEventsJsonParser(scope: FastifyInstance) {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (
      _request: FastifyRequest,
      body: string,
      done: (error: Error | null, value?: unknown) => void,
    ) => {
      try {
        done(null, parseEventsJson(body));
      } catch (error: unknown) {
        done(asError(error));
      }
    },
  );
}

/**
 * The events ingest API: `POST /v1/affiliates/{affiliateId}/events` and `DELETE
 * /v1/affiliates/{affiliateId}/events/{type}/{id}`, for TrackingWriter and AccountAdmin
 * tokens. Registered in a scope of its own, so that its JSON parser serves these routes only.
 */
export function registerEventRoutes(app: FastifyInstance, deps: ApiDeps) {
  void app.register((scope, _options, done) => {
    // Checked as soon as the request arrives: no one without access makes us read 16 MiB.
    scope.addHook('onRequest', async (request) => {
      await authorizeWriter(deps, request, readAffiliateId(request.params));
    });
    useEventsJsonParser(scope);
    registerIngestRoute(scope, deps);
    registerDeleteRoute(scope, deps);
    done();
  });
}
