import type { FastifyInstance, FastifyRequest } from 'fastify';

import { AppError } from '../errors.ts';
import { getExecution, listExecutions, requestCancel } from '../store/executions-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { authenticateAdmin, canSeeAffiliate, CONNECTOR_FEATURE, requireFeature } from './auth.ts';
import { loadManagedConnector } from './connector-access.ts';
import { connectorIdParams, problemSchema } from './connector-schemas.ts';
import { executionSchema, executionView } from './execution-view.ts';

const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;
const tags = ['executions'];
const security = [{ ApiKey: [] }];
const problems = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
export const executionIdParams = {
  type: 'object',
  required: ['executionId'],
  properties: { executionId: { type: 'string', format: 'uuid' } },
} as const;

export async function loadVisibleExecution(deps: ApiDeps, request: FastifyRequest, id: string) {
  const principal = await authenticateAdmin(deps.pool, request);
  const execution = await getExecution(deps.pool, id);

  if (!execution || !canSeeAffiliate(principal, execution.affiliateId)) {
    throw new AppError(
      'EXECUTION_NOT_FOUND',
      `No execution ${id} among the affiliates of this token.`,
    );
  }
  await requireFeature(deps.pool, execution.affiliateId, CONNECTOR_FEATURE);
  return execution;
}

export function registerExecutionRoutes(app: FastifyInstance, deps: ApiDeps) {
  app.get<{ Params: { executionId: string } }>(
    '/v1/executions/:executionId',
    {
      schema: {
        tags,
        security,
        summary: "An execution's status, progress and outcome.",
        params: executionIdParams,
        response: { 200: executionSchema, ...problems },
      },
    },
    async (request) =>
      executionView(await loadVisibleExecution(deps, request, request.params.executionId)),
  );

  app.get<{ Params: { id: number }; Querystring: { limit?: number } }>(
    '/v1/affiliates/connectors/:id/executions',
    {
      schema: {
        tags,
        security,
        summary: "A connector's executions, newest first.",
        params: connectorIdParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT } },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: executionSchema } } },
          ...problems,
        },
      },
    },
    async (request) => {
      const { connector } = await loadManagedConnector(deps, request, request.params.id);
      const executions = await listExecutions(
        deps.pool,
        connector.id,
        request.query.limit ?? DEFAULT_LIST_LIMIT,
      );
      return { items: executions.map(executionView) };
    },
  );

  app.post<{ Params: { executionId: string } }>(
    '/v1/executions/:executionId/cancel',
    {
      schema: {
        tags,
        security,
        summary: 'Cancels a queued execution at once, or a running one at its next chunk boundary.',
        params: executionIdParams,
        response: { 202: executionSchema, ...problems, 409: problemSchema },
      },
    },
    async (request, reply) => {
      const execution = await loadVisibleExecution(deps, request, request.params.executionId);
      const [previous] = await requestCancel(deps.pool, { executionId: execution.id });
      if (!previous) {
        throw new AppError(
          'EXECUTION_FINISHED',
          `Execution ${execution.id} has already ended (${execution.status}); there is nothing to cancel.`,
        );
      }

      request.log.info(
        { executionId: execution.id, previous: previous.status },
        'cancel requested',
      );
      const updated = await getExecution(deps.pool, execution.id);
      return reply.code(202).send(executionView(updated!));
    },
  );
}
