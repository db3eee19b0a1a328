import type { FastifyInstance } from 'fastify';

import { getExecution } from '../store/executions-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { executionView } from './execution-view.ts';
import { executionIdParams, loadVisibleExecution } from './executions-routes.ts';

const POLL_INTERVAL_MS = 1_000;
const KEEP_ALIVE_INTERVAL_MS = 15_000;
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * `GET /v1/executions/{id}/events`: progress as Server-Sent Events. A `progress` event whenever
 * the execution changes, then one `end` event with its final state, then the stream closes.
 */
export function registerExecutionEventsRoute(app: FastifyInstance, deps: ApiDeps) {
  app.get<{ Params: { executionId: string } }>(
    '/v1/executions/:executionId/events',
    {
      schema: {
        tags: ['executions'],
        security: [{ ApiKey: [] }],
        summary: "An execution's progress as Server-Sent Events (text/event-stream).",
        params: executionIdParams,
      },
    },
    async (request, reply) => {
      const first = await loadVisibleExecution(deps, request, request.params.executionId);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });

      let closed = false;
      request.raw.on('close', () => (closed = true));
      const send = (event: string, data: unknown) =>
        raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

      let last = '';
      let lastWrite = Date.now();
      let execution = first;
      while (!closed) {
        const view = executionView(execution);
        const text = JSON.stringify(view);
        if (text !== last) {
          send(ENDED.has(view.status) ? 'end' : 'progress', view);
          last = text;
          lastWrite = Date.now();
        }
        if (ENDED.has(view.status)) break;

        if (Date.now() - lastWrite > KEEP_ALIVE_INTERVAL_MS) {
          raw.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
        execution = (await getExecution(deps.pool, first.id)) ?? execution;
      }
      raw.end();
    },
  );
}
