import { randomUUID } from 'node:crypto';

import type { FastifyInstance } from 'fastify';

import { enqueueReload } from '../engine/reload-queue.ts';
import { AppError } from '../errors.ts';
import { insertExecution } from '../store/executions-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { loadManagedConnector } from './connector-access.ts';
import { connectorIdParams, problemSchema } from './connector-schemas.ts';
import { parseReloadRequest, reloadBodySchema } from './reload-request.ts';

const acceptedSchema = {
  type: 'object',
  properties: {
    executionId: { type: 'string', format: 'uuid' },
    connectorId: { type: 'integer' },
    dataType: { type: 'string' },
    window: {
      type: ['object', 'null'],
      properties: { from: { type: 'string' }, to: { type: 'string' } },
    },
    status: { type: 'string' },
  },
} as const;

export function registerReloadRoutes(app: FastifyInstance, deps: ApiDeps) {
  app.post<{ Params: { id: number } }>(
    '/v1/affiliates/connectors/:id/reload',
    {
      // The schema documents the body; parseReloadRequest checks it, with a code per mistake.
      attachValidation: true,
      schema: {
        tags: ['reloads'],
        security: [{ ApiKey: [] }],
        summary: 'Re-mirrors one data type over a date window, or re-runs the dimension merge.',
        params: connectorIdParams,
        body: reloadBodySchema,
        response: {
          202: acceptedSchema,
          400: problemSchema,
          401: problemSchema,
          403: problemSchema,
          404: problemSchema,
          409: problemSchema,
        },
      },
    },
    async (request, reply) => {
      if (request.validationError && request.validationError.validationContext === 'params') {
        throw request.validationError;
      }
      const { connector } = await loadManagedConnector(deps, request, request.params.id);
      const reload = parseReloadRequest(request.body);
      if (!connector.enabled) {
        throw new AppError(
          'CONNECTOR_DISABLED',
          `Connector ${connector.id} is disabled; enable it with PUT before reloading.`,
        );
      }

      const executionId = randomUUID();
      const client = await deps.pool.connect();
      try {
        await client.query('BEGIN');
        await insertExecution(client, {
          id: executionId,
          connectorId: connector.id,
          affiliateId: connector.affiliateId,
          dataType: reload.dataType,
          windowFrom: reload.window?.from ?? null,
          windowTo: reload.window?.to ?? null,
        });
        await enqueueReload(deps.boss, client, { executionId, connectorId: connector.id });
        await client.query('COMMIT');
      } catch (error: unknown) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }

      request.log.info(
        {
          executionId,
          connectorId: connector.id,
          dataType: reload.dataType,
          window: reload.window && { from: reload.window.from, to: reload.window.to },
        },
        'reload queued',
      );
      return reply
        .code(202)
        .header('location', `/v1/executions/${executionId}`)
        .send({
          executionId,
          connectorId: connector.id,
          dataType: reload.dataType,
          window: reload.window ? { from: reload.window.from, to: reload.window.to } : null,
          status: 'queued',
        });
    },
  );
}
