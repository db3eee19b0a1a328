import type { FastifyInstance } from 'fastify';

import { AppError } from '../errors.ts';
import { Secret } from '../secret.ts';
import {
  deleteConnector,
  insertConnector,
  listConnectors,
  updateConnector,
  type ConnectorFields,
  type ConnectorRecord,
} from '../store/connectors-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { authenticateAdmin, canSeeAffiliate, CONNECTOR_FEATURE } from './auth.ts';
import { connectorView, loadManagedConnector, requireAffiliateAccess } from './connector-access.ts';
import {
  connectorIdParams,
  connectorSchema,
  createConnectorBody,
  checkHost,
  listConnectorsQuery,
  problemSchema,
  replaceConnectorBody,
  type ConnectorInput,
} from './connector-schemas.ts';
import { getAffiliate } from '../store/affiliates-store.ts';
import { requestCancel } from '../store/executions-store.ts';
import { defaultSchemaOf } from '../destinations/open-destination.ts';

const tags = ['connectors'];
const security = [{ ApiKey: [] }];
const problems = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

/** A new connector's fields; `enabled` defaults to true, `schema` to the engine's default. */
function newFields(deps: ApiDeps, input: ConnectorInput): ConnectorFields {
  checkHost(input.host);
  if (input.password === undefined) {
    throw AppError.invalidField('VALIDATION_FAILED', 'password', 'is required.');
  }
  return {
    affiliateId: input.affiliateId,
    engine: input.engine,
    host: input.host,
    port: input.port,
    database: input.database,
    schema: input.schema ?? defaultSchemaOf(input.engine),
    username: input.username,
    passwordEncrypted: deps.cipher.encrypt(new Secret(input.password)),
    useSsl: input.useSsl,
    enabled: input.enabled ?? true,
  };
}

/**
 * A replacement's fields. Omitted optional fields keep their current values. The stored
 * password is kept only while it goes to the same server as the same user, as protected as
 * before: sending it to a new host or user, or over a connection without TLS, needs whoever
 * changes them to give the password too.
 */
function replacedFields(deps: ApiDeps, input: ConnectorInput, current: ConnectorRecord) {
  const sameTarget =
    input.host === current.host &&
    input.port === current.port &&
    input.database === current.database &&
    input.username === current.username &&
    input.engine === current.engine &&
    (input.useSsl || !current.useSsl);
  if (input.password === undefined && !sameTarget) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'password',
      'is required when engine, host, port, database or username change, or useSsl is turned off.',
    );
  }
  const fields: ConnectorFields = {
    ...newFields(deps, { ...input, password: input.password ?? '-' }),
    schema: input.schema ?? current.schema,
    enabled: input.enabled ?? current.enabled,
  };
  if (input.password === undefined) fields.passwordEncrypted = current.passwordEncrypted;
  return fields;
}

/** The affiliates a listing covers: those asked for, or all of the token's with the feature. */
async function listedAffiliates(deps: ApiDeps, visible: number[], requested?: number[]) {
  if (requested && requested.length > 0) return requested;

  const withFeature: number[] = [];
  for (const id of visible) {
    const affiliate = await getAffiliate(deps.pool, id);
    if (affiliate.features.includes(CONNECTOR_FEATURE)) withFeature.push(id);
  }
  if (withFeature.length === 0) {
    throw new AppError(
      'FEATURE_DISABLED',
      `None of the token's affiliates has the ${CONNECTOR_FEATURE} feature.`,
    );
  }
  return withFeature;
}

export function registerConnectorRoutes(app: FastifyInstance, deps: ApiDeps) {
  app.get<{ Querystring: { AffiliateId?: number[]; Enabled?: boolean } }>(
    '/v1/affiliates/connectors',
    {
      schema: {
        tags,
        security,
        summary: "Lists the connectors of the caller's affiliates.",
        querystring: listConnectorsQuery,
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: connectorSchema } } },
          ...problems,
        },
      },
    },
    async (request) => {
      const principal = await authenticateAdmin(deps.pool, request);
      const affiliateIds = await listedAffiliates(
        deps,
        principal.affiliateIds,
        request.query.AffiliateId,
      );
      for (const id of affiliateIds) await requireAffiliateAccess(deps, principal, id);

      const connectors = await listConnectors(deps.pool, {
        affiliateIds,
        enabled: request.query.Enabled,
      });
      return { items: connectors.map(connectorView) };
    },
  );

  app.post<{ Body: ConnectorInput }>(
    '/v1/affiliates/connectors',
    {
      schema: {
        tags,
        security,
        summary: 'Creates a connector to an affiliate-owned database.',
        body: createConnectorBody,
        response: { 201: connectorSchema, ...problems },
      },
    },
    async (request, reply) => {
      const principal = await authenticateAdmin(deps.pool, request);
      await requireAffiliateAccess(deps, principal, request.body.affiliateId);

      const connector = await insertConnector(deps.pool, newFields(deps, request.body));
      request.log.info(
        { connectorId: connector.id, affiliateId: connector.affiliateId },
        'connector created',
      );
      return reply
        .code(201)
        .header('location', `/v1/affiliates/connectors/${connector.id}`)
        .send(connectorView(connector));
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/affiliates/connectors/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Reads one connector.',
        params: connectorIdParams,
        response: { 200: connectorSchema, ...problems },
      },
    },
    async (request) => {
      const { connector } = await loadManagedConnector(deps, request, request.params.id);
      return connectorView(connector);
    },
  );

  app.put<{ Params: { id: number }; Body: ConnectorInput }>(
    '/v1/affiliates/connectors/:id',
    {
      schema: {
        tags,
        security,
        summary:
          'Replaces a connector; without password the stored one is kept. Its executions stay.',
        params: connectorIdParams,
        body: replaceConnectorBody,
        response: { 200: connectorSchema, ...problems },
      },
    },
    async (request) => {
      const { principal, connector } = await loadManagedConnector(deps, request, request.params.id);
      if (
        !canSeeAffiliate(principal, request.body.affiliateId) ||
        request.body.affiliateId !== connector.affiliateId
      ) {
        await requireAffiliateAccess(deps, principal, request.body.affiliateId);
      }

      const fields = replacedFields(deps, request.body, connector);
      const updated = await updateConnector(deps.pool, connector.id, fields);
      const cancelled = fields.enabled
        ? []
        : await requestCancel(deps.pool, { connectorId: connector.id });
      request.log.info({ connectorId: connector.id, cancelled }, 'connector updated');
      return connectorView(updated!);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/affiliates/connectors/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Deletes a connector (its executions stay readable).',
        params: connectorIdParams,
        response: { 204: { type: 'null' }, ...problems },
      },
    },
    async (request, reply) => {
      const { connector } = await loadManagedConnector(deps, request, request.params.id);
      await deleteConnector(deps.pool, connector.id);
      const cancelled = await requestCancel(deps.pool, { connectorId: connector.id });
      request.log.info({ connectorId: connector.id, cancelled }, 'connector deleted');
      return reply.code(204).send();
    },
  );
}
