import type pg from 'pg';

import type { PasswordCipher } from '../crypto/password-cipher.ts';
import type { Destination } from '../destinations/destination.ts';
import { openDestination } from '../destinations/open-destination.ts';
import { AppError, asError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { allTables } from '../mirror/tables.ts';
import { scrubSecrets, type Secret } from '../secret.ts';
import { getConnector } from '../store/connectors-store.ts';
import {
  beat,
  committedChunks,
  finishExecution,
  getExecution,
  handBack,
  isCancelRequested,
  recordChunk,
  startExecution,
  type ChunkCounts,
  type ExecutionOutcome,
  type ExecutionRecord,
} from '../store/executions-store.ts';
import { restIfUnreachable } from './broken-connector.ts';
import { executionChunks, type Chunk } from './chunk-plan.ts';
import { connectionSettings } from './connector-settings.ts';
import { executionTables, prepareMirrorTables } from './mirror-schema.ts';
import { withRetries } from './retry.ts';
import { workerId } from './worker-identity.ts';

export interface RunnerDeps {
  pool: pg.Pool;
  cipher: PasswordCipher;
  logger: Logger;
}

export const HEARTBEAT_INTERVAL_MS = 5_000;

class Cancelled extends Error {}

/** The execution was taken over by another worker (ours stopped beating for too long). */
class LostOwnership extends Error {}

/** This process is shutting down: the execution is handed back at a chunk boundary. */
class ShuttingDown extends Error {}

let shuttingDown = false;

/**
 * Makes running executions of this process stop at their next chunk boundary and hand
 * themselves back (no worker, stale heartbeat), so that any worker's reaper resumes them
 * within seconds instead of this process failing them as its pools close.
 */
export function stopTakingChunks(): void {
  shuttingDown = true;
}

/**
 * Chunks committed at the destination are authoritative: a worker that died after a commit
 * but before its bookkeeping in the platform store still has its chunk counted as done.
 */
async function doneChunks(deps: RunnerDeps, destination: Destination, executionId: string) {
  const [atDestination, recorded] = await Promise.all([
    destination.committedChunks(executionId),
    committedChunks(deps.pool, executionId),
  ]);
  return new Set([...atDestination, ...recorded]);
}

async function runChunk(
  deps: RunnerDeps,
  execution: ExecutionRecord,
  chunk: Chunk,
  destination: Destination,
  log: Logger,
) {
  const stopIfCancelled = async () => {
    if (await isCancelRequested(deps.pool, execution.id)) throw new Cancelled();
  };
  const counts = await withRetries(
    `chunk ${chunk.label}`,
    log,
    () => chunk.run(destination, workerId),
    stopIfCancelled,
  );
  await recordChunk(deps.pool, execution.id, chunk.index, counts);

  // The logger already carries the chunk and the worker: each key once per line.
  const logged: Partial<ChunkCounts> = { ...counts };
  delete logged.workerId;
  const seconds = Math.max(counts.durationMs, 1) / 1000;
  log.info(
    { ...logged, rowsWrittenPerSecond: Math.round(counts.rowsWritten / seconds) },
    'chunk committed',
  );
}

async function runChunks(
  deps: RunnerDeps,
  execution: ExecutionRecord,
  destination: Destination,
  log: Logger,
) {
  const chunks = await executionChunks(deps.pool, execution);
  if (!(await startExecution(deps.pool, execution.id, workerId, chunks.length)))
    throw new Cancelled();

  const done = await doneChunks(deps, destination, execution.id);
  if (done.size > 0)
    log.info({ committed: done.size, total: chunks.length }, 'resuming after the committed chunks');

  for (const chunk of chunks) {
    if (done.has(chunk.index)) continue;
    if (await isCancelRequested(deps.pool, execution.id)) throw new Cancelled();
    if (shuttingDown) throw new ShuttingDown();

    if (!(await beat(deps.pool, execution.id, workerId, chunk.label))) throw new LostOwnership();
    const chunkLog = log.child({ chunk: chunk.index + 1, range: chunk.label });
    await runChunk(deps, execution, chunk, destination, chunkLog);
  }
}

/** Keeps the execution's heartbeat fresh while it is ours, so no reaper takes it over. */
export function startHeartbeat(deps: RunnerDeps, executionId: string) {
  const timer = setInterval(() => {
    beat(deps.pool, executionId, workerId).catch((error: unknown) => {
      deps.logger.warn({ executionId, reason: asError(error).message }, 'heartbeat failed');
    });
  }, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function outcomeOf(error: unknown, password: Secret | undefined): ExecutionOutcome {
  if (error instanceof Cancelled) return { status: 'cancelled' };

  const failure = asError(error);
  const errorCode = failure instanceof AppError ? failure.code : 'INTERNAL';
  return { status: 'failed', errorCode, errorMessage: scrubSecrets(failure.message, [password]) };
}

/**
 * Runs (or resumes) one execution to its end and records the outcome: `succeeded`,
 * `cancelled` at a chunk boundary, or `failed` with a secret-free reason. Never throws for a
 * failure of the execution itself. The caller holds the connector's writer lock.
 */
export async function runExecution(deps: RunnerDeps, executionId: string): Promise<void> {
  const execution = await getExecution(deps.pool, executionId);
  if (!execution || (execution.status !== 'queued' && execution.status !== 'running')) return;

  const log = deps.logger.child({
    executionId,
    connectorId: execution.connectorId,
    dataType: execution.dataType,
    workerId,
  });
  const stopHeartbeat = startHeartbeat(deps, executionId);
  let destination: Destination | undefined;
  let password: Secret | undefined;

  try {
    const connector = await getConnector(deps.pool, execution.connectorId);
    if (!connector)
      throw new AppError(
        'CONNECTOR_NOT_FOUND',
        'The connector was deleted before the execution ran.',
      );
    const settings = connectionSettings(connector, deps.cipher);
    password = settings.password;
    log.info(
      { window: { from: execution.windowFrom, to: execution.windowTo } },
      'execution started',
    );

    destination = openDestination(settings, log);
    const prepared = await withRetries('checking the mirror tables', log, () =>
      prepareMirrorTables(destination!, allTables, log),
    );
    const drift = prepared.drift?.about(executionTables(execution).map((table) => table.name));
    if (drift) throw drift;
    await runChunks(deps, execution, destination, log);

    await finishExecution(deps.pool, executionId, { status: 'succeeded' });
    const finished = await getExecution(deps.pool, executionId);
    log.info(
      { rowsWritten: finished?.rowsWritten, rowsDeleted: finished?.rowsDeleted },
      'execution succeeded',
    );
  } catch (error: unknown) {
    if (error instanceof ShuttingDown) {
      await handBack(deps.pool, executionId, workerId);
      log.info('worker shutting down: execution handed back to be resumed by another worker');
      return;
    }
    if (error instanceof LostOwnership) {
      log.warn('execution taken over by another worker; this one stops without recording an end');
      return;
    }
    const outcome = outcomeOf(error, password);
    if (outcome.status === 'failed') {
      log.error({ errorCode: outcome.errorCode, reason: outcome.errorMessage }, 'execution failed');
      await restIfUnreachable(deps.pool, execution.connectorId, error, log);
    } else {
      log.info('execution cancelled at a chunk boundary');
    }
    await finishExecution(deps.pool, executionId, outcome);
  } finally {
    stopHeartbeat();
    await destination?.close().catch(() => undefined);
  }
}
