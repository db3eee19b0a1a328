import type { FastifyInstance } from 'fastify';

import type { ConnectionSettings } from '../destinations/destination.ts';
import { defaultSchemaOf, openDestination } from '../destinations/open-destination.ts';
import { connectionSettings } from '../engine/connector-settings.ts';
import type { Logger } from '../logger.ts';
import { Secret } from '../secret.ts';
import type { ApiDeps } from './api-deps.ts';
import { authenticateAdmin } from './auth.ts';
import { loadManagedConnector, requireAffiliateAccess } from './connector-access.ts';
import {
  checkHost,
  connectorIdParams,
  problemSchema,
  testConnectionBody,
  type ConnectorInput,
} from './connector-schemas.ts';

const tags = ['connectors'];
const security = [{ ApiKey: [] }];
const resultSchema = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, durationMs: { type: 'integer' } },
} as const;
const responses = {
  200: resultSchema,
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
};

/** Opens a real connection and proves CREATE TABLE works; failures are 400s with the reason. */
async function runConnectionTest(settings: ConnectionSettings, logger: Logger) {
  const started = Date.now();
  const destination = openDestination(settings, logger);

  try {
    await destination.testConnection();
    return { ok: true, durationMs: Date.now() - started };
  } finally {
    await destination.close().catch(() => undefined);
  }
}

export function registerConnectionTestRoutes(app: FastifyInstance, deps: ApiDeps) {
  app.post<{ Body: ConnectorInput }>(
    '/v1/affiliates/connectors/test-connection',
    {
      schema: {
        tags,
        security,
        summary: 'Tests connection details without saving them.',
        body: testConnectionBody,
        response: responses,
      },
    },
    async (request) => {
      const principal = await authenticateAdmin(deps.pool, request);
      await requireAffiliateAccess(deps, principal, request.body.affiliateId);

      const body = request.body;
      checkHost(body.host);
      const settings: ConnectionSettings = {
        engine: body.engine,
        host: body.host,
        port: body.port,
        database: body.database,
        schema: body.schema ?? defaultSchemaOf(body.engine),
        username: body.username,
        password: new Secret(body.password ?? ''),
        useSsl: body.useSsl,
      };
      return runConnectionTest(settings, deps.logger);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/v1/affiliates/connectors/:id/test-connection',
    {
      schema: {
        tags,
        security,
        summary: 'Tests a saved connector.',
        params: connectorIdParams,
        response: responses,
      },
    },
    async (request) => {
      const { connector } = await loadManagedConnector(deps, request, request.params.id);
      return runConnectionTest(connectionSettings(connector, deps.cipher), deps.logger);
    },
  );
}
