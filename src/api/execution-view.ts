import type { ExecutionRecord } from '../store/executions-store.ts';

function percentDone(execution: ExecutionRecord): number {
  if (execution.status === 'succeeded') return 100;
  if (execution.chunksTotal === 0) return 0;
  return Math.floor((execution.chunksDone * 100) / execution.chunksTotal);
}

/** Rows per second since the execution started, and the time left at that pace. */
function pace(execution: ExecutionRecord, now = Date.now()) {
  if (!execution.startedAt || execution.chunksDone === 0) {
    return { rowsPerSecond: null, etaSeconds: null };
  }
  const end = execution.finishedAt?.getTime() ?? now;
  const elapsedSeconds = Math.max((end - execution.startedAt.getTime()) / 1000, 0.001);
  const rowsPerSecond = Math.round(execution.rowsWritten / elapsedSeconds);

  if (execution.status !== 'running') return { rowsPerSecond, etaSeconds: null };
  const remainingChunks = execution.chunksTotal - execution.chunksDone;
  const etaSeconds = Math.round((elapsedSeconds / execution.chunksDone) * remainingChunks);
  return { rowsPerSecond, etaSeconds };
}

/** An execution as the API shows it. */
export function executionView(execution: ExecutionRecord) {
  return {
    executionId: execution.id,
    connectorId: execution.connectorId,
    affiliateId: execution.affiliateId,
    dataType: execution.dataType,
    window:
      execution.windowFrom && execution.windowTo
        ? { from: execution.windowFrom, to: execution.windowTo, timeZone: execution.timeZone }
        : null,
    status: execution.status,
    progress: {
      percent: percentDone(execution),
      chunksDone: execution.chunksDone,
      chunksTotal: execution.chunksTotal,
      rowsRead: execution.rowsRead,
      rowsWritten: execution.rowsWritten,
      rowsDeleted: execution.rowsDeleted,
      rowsInserted: execution.rowsInserted,
      rowsUpdated: execution.rowsUpdated,
      ...pace(execution),
      currentChunk: execution.currentChunk,
    },
    attempts: execution.attempts,
    cancelRequested: execution.cancelRequestedAt !== null,
    error: execution.errorCode
      ? { code: execution.errorCode, message: execution.errorMessage }
      : null,
    createdAt: execution.createdAt.toISOString(),
    startedAt: execution.startedAt?.toISOString() ?? null,
    finishedAt: execution.finishedAt?.toISOString() ?? null,
  };
}

const counter = { type: 'integer' } as const;

/** A reload window as the API echoes it: the UTC instants used, and the zone dates were read in. */
export const windowSchema = {
  type: ['object', 'null'],
  description:
    "Null for dimensions. from and to are inclusive UTC instants with microseconds; timeZone is the affiliate's zone that date-only fromDate / toDate were read in when the reload was queued.",
  properties: {
    from: { type: 'string', format: 'date-time', examples: ['2026-03-28T23:00:00.000000Z'] },
    to: { type: 'string', format: 'date-time', examples: ['2026-03-29T21:59:59.999999Z'] },
    timeZone: { type: ['string', 'null'], examples: ['Europe/Paris'] },
  },
} as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const executionSchema = {
  type: 'object',
  properties: {
    executionId: { type: 'string', format: 'uuid' },
    connectorId: { type: 'integer' },
    affiliateId: { type: 'integer' },
    dataType: { type: 'string' },
    window: windowSchema,
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    progress: {
      type: 'object',
      properties: {
        percent: counter,
        chunksDone: counter,
        chunksTotal: counter,
        rowsRead: {
          ...counter,
          description:
            'Rows read from the source. A re-mirror reads only what the mirror lacks, so this can be far below the rows of the window.',
        },
        rowsWritten: { ...counter, description: 'Rows the destination wrote.' },
        rowsDeleted: { ...counter, description: 'Rows the destination deleted.' },
        rowsInserted: {
          ...counter,
          description: 'Dimension merges: rows added. Event reloads count rowsWritten only.',
        },
        rowsUpdated: {
          ...counter,
          description: 'Dimension merges: rows changed. Event reloads count rowsWritten only.',
        },
        rowsPerSecond: {
          type: ['integer', 'null'],
          description:
            'rowsWritten per second since the start: 0 for a re-mirror that found nothing to change.',
        },
        etaSeconds: { type: ['integer', 'null'] },
        currentChunk: { type: ['string', 'null'] },
      },
    },
    attempts: counter,
    cancelRequested: { type: 'boolean' },
    error: {
      type: ['object', 'null'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: nullableTime,
    finishedAt: nullableTime,
  },
} as const;
