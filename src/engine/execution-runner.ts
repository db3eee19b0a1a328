import type pg from 'pg';

import type { PasswordCipher } from '../crypto/password-cipher.ts';
import type { Destination, TimeRange } from '../destinations/destination.ts';
import { openDestination } from '../destinations/open-destination.ts';
import { AppError, asError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { allTables, dimensionTables, eventTables, type EventDataType } from '../mirror/tables.ts';
import { scrubSecrets } from '../secret.ts';
import { getConnector } from '../store/connectors-store.ts';
import {
  committedChunks,
  finishExecution,
  getExecution,
  recordChunk,
  startExecution,
  type ChunkCounts,
  type ExecutionRecord,
} from '../store/executions-store.ts';
import { readDimensionRows, readEventRows } from '../store/source-rows.ts';
import { connectionSettings } from './connector-settings.ts';
import { parseInstant, planDailyChunks } from './reload-window.ts';

export interface RunnerDeps {
  pool: pg.Pool;
  cipher: PasswordCipher;
  logger: Logger;
}

/** One unit of work: one destination transaction, recorded once it has committed. */
interface Chunk {
  label: string;
  run(destination: Destination): Promise<ChunkCounts>;
}

function eventChunks(deps: RunnerDeps, execution: ExecutionRecord): Chunk[] {
  const table = eventTables[execution.dataType as EventDataType];
  const from = parseInstant(execution.windowFrom!, 'from')!.micros;
  const toExclusive = parseInstant(execution.windowTo!, 'to')!.micros + 1n;

  return planDailyChunks(from, toExclusive).map((range: TimeRange) => ({
    label: `${table.name} ${range.from}..${range.toExclusive}`,
    run: async (destination) => {
      const started = Date.now();
      const source = await readEventRows(deps.pool, table, execution.affiliateId, range);
      const result = await destination.replaceRange(
        table,
        execution.affiliateId,
        range,
        source.stream,
      );
      const rowsRead = await source.rowCount;
      return {
        tableName: table.name,
        rangeFrom: range.from,
        rangeTo: range.toExclusive,
        rowsRead,
        rowsWritten: result.rowsWritten,
        rowsInserted: 0,
        rowsUpdated: 0,
        rowsDeleted: result.rowsDeleted,
        durationMs: Date.now() - started,
      };
    },
  }));
}

function dimensionChunks(deps: RunnerDeps, execution: ExecutionRecord): Chunk[] {
  return dimensionTables.map((table) => ({
    label: table.name,
    run: async (destination) => {
      const started = Date.now();
      const source = await readDimensionRows(deps.pool, table, execution.affiliateId);
      const result = await destination.mergeDimension(table, execution.affiliateId, source.stream);
      const rowsRead = await source.rowCount;
      return {
        tableName: table.name,
        rangeFrom: null,
        rangeTo: null,
        rowsRead,
        rowsWritten: result.rowsWritten,
        rowsInserted: result.inserted,
        rowsUpdated: result.updated,
        rowsDeleted: result.deleted,
        durationMs: Date.now() - started,
      };
    },
  }));
}

/**
 * A chunk is only recorded when the destination holds exactly what was read: a mismatch fails
 * the execution instead of letting it end "succeeded" with rows missing.
 */
function reconcile(counts: ChunkCounts, label: string): void {
  if (counts.rowsWritten !== counts.rowsRead) {
    throw new AppError(
      'DESTINATION_FAILED',
      `Chunk ${label}: read ${counts.rowsRead} rows from the source but the destination took ${counts.rowsWritten}.`,
    );
  }
}

async function runChunks(
  deps: RunnerDeps,
  execution: ExecutionRecord,
  destination: Destination,
  log: Logger,
) {
  const chunks =
    execution.dataType === 'dimensions'
      ? dimensionChunks(deps, execution)
      : eventChunks(deps, execution);
  await startExecution(deps.pool, execution.id, chunks.length);
  const done = await committedChunks(deps.pool, execution.id);
  if (done.size > 0)
    log.info({ committed: done.size, total: chunks.length }, 'resuming after committed chunks');

  for (const [index, chunk] of chunks.entries()) {
    if (done.has(index)) continue;

    const counts = await chunk.run(destination);
    reconcile(counts, chunk.label);
    await recordChunk(deps.pool, execution.id, index, counts);

    const rowsPerSecond = Math.round((counts.rowsWritten * 1000) / Math.max(counts.durationMs, 1));
    log.info(
      { chunk: `${index + 1}/${chunks.length}`, range: chunk.label, ...counts, rowsPerSecond },
      'chunk committed',
    );
  }
}

function describeFailure(error: unknown, secrets: Parameters<typeof scrubSecrets>[1]) {
  const failure = asError(error);
  const code = failure instanceof AppError ? failure.code : 'INTERNAL';
  return { errorCode: code, errorMessage: scrubSecrets(failure.message, secrets) };
}

/**
 * Runs (or resumes) one execution to its end and records the outcome. Failures end the
 * execution as "failed" with a secret-free reason; they are not rethrown.
 */
export async function runExecution(deps: RunnerDeps, executionId: string): Promise<void> {
  const execution = await getExecution(deps.pool, executionId);
  if (!execution || (execution.status !== 'queued' && execution.status !== 'running')) return;

  const log = deps.logger.child({
    executionId,
    connectorId: execution.connectorId,
    dataType: execution.dataType,
  });
  const connector = await getConnector(deps.pool, execution.connectorId);
  let destination: Destination | undefined;
  let settings: ReturnType<typeof connectionSettings> | undefined;

  try {
    if (!connector)
      throw new AppError(
        'CONNECTOR_NOT_FOUND',
        'The connector was deleted before the execution ran.',
      );
    settings = connectionSettings(connector, deps.cipher);
    log.info(
      { window: { from: execution.windowFrom, to: execution.windowTo } },
      'execution started',
    );

    destination = openDestination(settings, log);
    await destination.ensureTables(allTables);
    await runChunks(deps, execution, destination, log);

    await finishExecution(deps.pool, executionId, { status: 'succeeded' });
    const finished = await getExecution(deps.pool, executionId);
    log.info(
      { rowsWritten: finished?.rowsWritten, rowsDeleted: finished?.rowsDeleted },
      'execution succeeded',
    );
  } catch (error: unknown) {
    const failure = describeFailure(error, [settings?.password]);
    log.error(failure, 'execution failed');
    await finishExecution(deps.pool, executionId, { status: 'failed', ...failure });
  } finally {
    await destination?.close().catch(() => undefined);
  }
}
