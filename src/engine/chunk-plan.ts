import type pg from 'pg';

import type { ChunkMark, Destination, TimeRange } from '../destinations/destination.ts';
import {
  dimensionTables,
  eventTables,
  type EventDataType,
  type MirrorTable,
} from '../mirror/tables.ts';
import {
  fixChunkPlan,
  savedChunkPlan,
  type ChunkCounts,
  type ExecutionRecord,
} from '../store/executions-store.ts';
import { daysWithRows, readDimensionRows } from '../store/source-rows.ts';
import { SourceSnapshot } from '../store/source-snapshot.ts';
import { formatMicros, parseInstant, planChunks } from './reload-window.ts';

/** One unit of work of an execution: one destination transaction. */
export interface Chunk {
  index: number;
  label: string;
  run(destination: Destination, workerId: string): Promise<ChunkCounts>;
}

/** The window's chunk ranges: saved with the execution the first time, read back after. */
async function eventRanges(pool: pg.Pool, execution: ExecutionRecord): Promise<TimeRange[]> {
  const saved = await savedChunkPlan(pool, execution.id);
  if (saved) return saved;

  const table = eventTables[execution.dataType as EventDataType];
  const from = parseInstant(execution.windowFrom!, 'from')!.micros;
  const toExclusive = parseInstant(execution.windowTo!, 'to')!.micros + 1n;
  const window = { from: formatMicros(from), toExclusive: formatMicros(toExclusive) };

  const days = await daysWithRows(pool, table, execution.affiliateId, window);
  return fixChunkPlan(pool, execution.id, planChunks(from, toExclusive, days));
}

async function eventChunks(pool: pg.Pool, execution: ExecutionRecord): Promise<Chunk[]> {
  const table = eventTables[execution.dataType as EventDataType];
  const ranges = await eventRanges(pool, execution);

  return ranges.map((range: TimeRange, index) => ({
    index,
    label: `${table.name} ${range.from}..${range.toExclusive}`,
    run: async (destination, workerId) => {
      const started = Date.now();
      const snapshot = await SourceSnapshot.open(pool, table, execution.affiliateId, range);
      try {
        const mark = { executionId: execution.id, chunkIndex: index, workerId };
        const result = destination.syncRange
          ? await destination.syncRange(table, execution.affiliateId, range, snapshot, mark)
          : await replaceFromSnapshot(
              destination,
              table,
              execution.affiliateId,
              range,
              snapshot,
              mark,
            );

        return {
          tableName: table.name,
          rangeFrom: range.from,
          rangeTo: range.toExclusive,
          rowsRead: result.rowsRead ?? result.rowsInRange,
          rowsWritten: result.rowsWritten,
          rowsInserted: 0,
          rowsUpdated: 0,
          rowsDeleted: result.rowsDeleted,
          durationMs: Date.now() - started,
          workerId,
        };
      } finally {
        await snapshot.close();
      }
    },
  }));
}

/** Engines that cannot compare digests get the whole range, rewritten. */
async function replaceFromSnapshot(
  destination: Destination,
  table: MirrorTable,
  affiliateId: number,
  range: TimeRange,
  snapshot: SourceSnapshot,
  mark: Omit<ChunkMark, 'sourceRowCount'>,
) {
  const rows = await snapshot.rows();
  const result = await destination.replaceRange(table, affiliateId, range, rows.stream, {
    ...mark,
    sourceRowCount: rows.rowCount,
  });
  return { ...result, rowsRead: await rows.rowCount };
}

function dimensionChunks(pool: pg.Pool, execution: ExecutionRecord): Chunk[] {
  return dimensionTables.map((table, index) => ({
    index,
    label: table.name,
    run: async (destination, workerId) => {
      const started = Date.now();
      const source = await readDimensionRows(pool, table, execution.affiliateId);
      const mark = {
        executionId: execution.id,
        chunkIndex: index,
        workerId,
        sourceRowCount: source.rowCount,
      };
      const result = await destination.mergeDimension(
        table,
        execution.affiliateId,
        source.stream,
        mark,
      );

      return {
        tableName: table.name,
        rangeFrom: null,
        rangeTo: null,
        rowsRead: await source.rowCount,
        rowsWritten: result.rowsWritten,
        rowsInserted: result.inserted,
        rowsUpdated: result.updated,
        rowsDeleted: result.deleted,
        durationMs: Date.now() - started,
        workerId,
      };
    },
  }));
}

/**
 * Event reloads are one chunk per UTC day with source rows, plus one per run of days without;
 * the dimension merge is one chunk per table.
 */
export async function executionChunks(pool: pg.Pool, execution: ExecutionRecord) {
  return execution.dataType === 'dimensions'
    ? dimensionChunks(pool, execution)
    : eventChunks(pool, execution);
}
