import type { FastifyInstance } from 'fastify';

import { allTables } from '../mirror/tables.ts';
import { listActiveExecutions } from '../store/executions-store.ts';
import { listSyncStates, type SyncState } from '../store/sync-state-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { loadManagedConnector } from './connector-access.ts';
import { connectorIdParams, problemSchema } from './connector-schemas.ts';
import { executionSchema, executionView } from './execution-view.ts';

function tableStatus(tableName: string, state: SyncState | undefined, now: number) {
  const caughtUpAt = state?.caughtUpAt ?? null;
  return {
    table: tableName,
    lastSyncedChangeSeq: state?.cursorSeq ?? null,
    lastSyncedAt: state?.lastSyncedAt?.toISOString() ?? null,
    caughtUpAt: caughtUpAt?.toISOString() ?? null,
    /** Seconds since the mirror of this table last held every committed change. */
    lagSeconds: caughtUpAt ? Math.max(0, Math.round((now - caughtUpAt.getTime()) / 1000)) : null,
    consecutiveFailures: state?.consecutiveFailures ?? 0,
    lastError: state?.lastErrorCode
      ? { code: state.lastErrorCode, message: state.lastError }
      : null,
  };
}

const nullableText = { type: ['string', 'null'] } as const;

const statusSchema = {
  type: 'object',
  properties: {
    connectorId: { type: 'integer' },
    enabled: { type: 'boolean' },
    broken: {
      type: ['object', 'null'],
      properties: { until: { type: 'string' }, reason: { type: 'string' } },
    },
    tables: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          table: { type: 'string' },
          lastSyncedChangeSeq: nullableText,
          lastSyncedAt: nullableText,
          caughtUpAt: nullableText,
          lagSeconds: { type: ['integer', 'null'] },
          consecutiveFailures: { type: 'integer' },
          lastError: {
            type: ['object', 'null'],
            properties: { code: { type: 'string' }, message: nullableText },
          },
        },
      },
    },
    activeExecutions: { type: 'array', items: executionSchema },
  },
} as const;

/** `GET /v1/affiliates/connectors/{id}/status`: how current the mirror is, table by table. */
export function registerConnectorStatusRoute(app: FastifyInstance, deps: ApiDeps) {
  app.get<{ Params: { id: number } }>(
    '/v1/affiliates/connectors/:id/status',
    {
      schema: {
        tags: ['connectors'],
        security: [{ ApiKey: [] }],
        summary: "The continuous mirror's state per table, and the executions under way.",
        params: connectorIdParams,
        response: { 200: statusSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const { connector } = await loadManagedConnector(deps, request, request.params.id);
      const states = new Map(
        (await listSyncStates(deps.pool, connector.id)).map((s) => [s.tableName, s]),
      );
      const active = await listActiveExecutions(deps.pool, connector.id);
      const now = Date.now();
      const resting = connector.brokenUntil && connector.brokenUntil.getTime() > now;

      return {
        connectorId: connector.id,
        enabled: connector.enabled,
        broken: resting
          ? { until: connector.brokenUntil!.toISOString(), reason: connector.brokenReason }
          : null,
        tables: allTables.map((table) => tableStatus(table.name, states.get(table.name), now)),
        activeExecutions: active.map(executionView),
      };
    },
  );
}
