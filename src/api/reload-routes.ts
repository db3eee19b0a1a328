import type { FastifyInstance } from 'fastify';

import { AppError } from '../errors.ts';
import { getAffiliate } from '../store/affiliates-store.ts';
import { getExecution } from '../store/executions-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { loadManagedConnector } from './connector-access.ts';
import { connectorIdParams, problemSchema } from './connector-schemas.ts';
import { executionSchema, executionView, windowSchema } from './execution-view.ts';
import { parseReloadRequest, reloadBodySchema } from './reload-request.ts';
import { submitReload } from './reload-submission.ts';

const acceptedSchema = {
  type: 'object',
  properties: {
    executionId: { type: 'string', format: 'uuid' },
    connectorId: { type: 'integer' },
    dataType: { type: 'string' },
    window: windowSchema,
    status: { type: 'string' },
  },
} as const;

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined || key === '') return undefined;
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'Idempotency-Key',
      `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`,
    );
  }
  return key;
}

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
          200: executionSchema,
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
      const affiliate = await getAffiliate(deps.pool, connector.affiliateId);
      const reload = parseReloadRequest(request.body, affiliate.timeZone);
      if (!connector.enabled) {
        throw new AppError(
          'CONNECTOR_DISABLED',
          `Connector ${connector.id} is disabled; enable it with PUT before reloading.`,
        );
      }

      const idempotencyKey = readIdempotencyKey(request.headers['idempotency-key']);
      const submission = await submitReload(deps, connector, reload, idempotencyKey);
      const location = `/v1/executions/${submission.executionId}`;

      if (submission.outcome !== 'queued') {
        request.log.info({ ...submission, connectorId: connector.id }, 'reload request repeated');
        const execution = await getExecution(deps.pool, submission.executionId);
        return reply.code(200).header('location', location).send(executionView(execution!));
      }

      const window = reload.window && {
        from: reload.window.from,
        to: reload.window.to,
        timeZone: reload.window.timeZone,
      };
      const logged = { executionId: submission.executionId, connectorId: connector.id };
      request.log.info({ ...logged, dataType: reload.dataType, window }, 'reload queued');
      return reply.code(202).header('location', location).send({
        executionId: submission.executionId,
        connectorId: connector.id,
        dataType: reload.dataType,
        window,
        status: 'queued',
      });
    },
  );
}
