import type { Readable } from 'node:stream';

import type pg from 'pg';

import type { Logger } from '../../logger.ts';
import type { MirrorTable } from '../../mirror/tables.ts';
import type {
  ApplyResult,
  ChangeBatch,
  ChangeCursor,
  ChunkClaim,
  ChunkMark,
  ConnectionSettings,
  CopyTextStream,
  Destination,
  MergeResult,
  RangeSource,
  ReplaceResult,
  SchemaReport,
  TimeRange,
} from '../destination.ts';
import { applyChanges } from './apply-changes.ts';
import { committedChunks, readCursor } from './bookkeeping.ts';
import { inTransaction } from '../../sql/transactions.ts';
import { createPool, describeConnection } from './connection.ts';
import { testConnection } from './connection-test.ts';
import { SourceRowsFailure } from '../source-rows-failure.ts';
import { ensureMirrorTables, type SchemaRepairs } from './ddl.ts';
import { destinationFailure } from './errors.ts';
import { mergeDimension } from './merge-dimensions.ts';
import { checkRange, replaceRange } from './replace-range.ts';
import { syncRange } from './sync-range.ts';

/**
 * A customer's PostgreSQL database as a mirror destination. Each operation runs in one
 * transaction on a small pool of its own. Failures come out as AppError DESTINATION_FAILED
 * (or CONNECTION_TEST_FAILED) with the server's SQLSTATE in `sqlState` and never the password;
 * errors of the source stream come out unchanged.
 *
 * @example
 * const destination = new PostgresDestination(settings, logger);
 * await destination.ensureTables(allTables);
 * await destination.replaceRange(eventTables.clicks, 42, range, copyTextRows);
 * await destination.close();
 */
export class PostgresDestination implements Destination {
  readonly #settings: ConnectionSettings;
  readonly #logger: Logger;
  readonly #pool: pg.Pool;

  constructor(settings: ConnectionSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger.child({
      destination: describeConnection(settings),
      schema: settings.schema,
    });
    this.#pool = createPool(settings, this.#logger);
  }

  async testConnection(): Promise<void> {
    await testConnection(this.#pool, this.#settings);
    this.#logger.info('connection test passed');
  }

  async ensureTables(tables: MirrorTable[]): Promise<SchemaReport> {
    const schema = this.#settings.schema;
    const repairs = await this.#run('checking the mirror tables', undefined, (client) =>
      ensureMirrorTables(client, schema, tables),
    );

    this.#logRepairs(repairs);
    return { created: repairs.created, addedColumns: repairs.addedColumns };
  }

  /**
   * Only the destination knows a created table had been mirrored before (someone dropped it),
   * and about keys and indexes put back; the engine logs the report itself.
   */
  #logRepairs(repairs: SchemaRepairs): void {
    for (const table of repairs.recreated) {
      this.#logger.warn(
        { table },
        `mirror table ${table} had been mirrored before and was missing; it has been recreated`,
      );
    }
    for (const table of repairs.restoredPrimaryKeys) {
      this.#logger.warn({ table }, `mirror table ${table} had lost its primary key; restored`);
    }
    for (const table of repairs.restoredIndexes) {
      this.#logger.info(
        { table },
        `mirror table ${table} had lost its occurred_at index; restored`,
      );
    }
  }

  async replaceRange(
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
    rows: CopyTextStream,
    mark: ChunkMark,
  ): Promise<ReplaceResult> {
    try {
      checkRange(range);
    } catch (error: unknown) {
      rows.destroy();
      throw error;
    }

    const window = `[${range.from}, ${range.toExclusive})`;
    const doing = `replacing ${table.name} of affiliate ${affiliateId} in ${window}`;
    const result = await this.#run(doing, rows, (client) =>
      replaceRange(client, this.#settings.schema, table, affiliateId, range, rows, mark),
    );

    this.#logger.debug({ table: table.name, affiliateId, ...range, ...result }, 'range replaced');
    return result;
  }

  async syncRange(
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
    source: RangeSource,
    mark: ChunkClaim,
  ): Promise<ReplaceResult> {
    checkRange(range);

    const window = `[${range.from}, ${range.toExclusive})`;
    const doing = `re-mirroring ${table.name} of affiliate ${affiliateId} in ${window}`;
    const result = await this.#run(doing, undefined, (client) =>
      syncRange(client, this.#settings.schema, table, affiliateId, range, source, mark),
    );

    this.#logger.debug({ table: table.name, affiliateId, ...range, ...result }, 'range synced');
    return result;
  }

  async mergeDimension(
    table: MirrorTable,
    affiliateId: number,
    rows: CopyTextStream,
    mark: ChunkMark,
  ): Promise<MergeResult> {
    const doing = `merging ${table.name} of affiliate ${affiliateId}`;
    const result = await this.#run(doing, rows, (client) =>
      mergeDimension(client, this.#settings.schema, table, affiliateId, rows, mark),
    );

    this.#logger.debug({ table: table.name, affiliateId, ...result }, 'dimension merged');
    return result;
  }

  async committedChunks(executionId: string): Promise<Set<number>> {
    return this.#run('reading committed chunks', undefined, (client) =>
      committedChunks(client, this.#settings.schema, executionId),
    );
  }

  async readCursor(table: MirrorTable, affiliateId: number): Promise<ChangeCursor | undefined> {
    return this.#run(`reading the ${table.name} cursor`, undefined, (client) =>
      readCursor(client, this.#settings.schema, affiliateId, table.name),
    );
  }

  async applyChanges(
    table: MirrorTable,
    affiliateId: number,
    batch: ChangeBatch,
  ): Promise<ApplyResult> {
    const doing = `applying ${table.name} changes of affiliate ${affiliateId}`;
    return this.#run(doing, batch.rows, (client) =>
      applyChanges(client, this.#settings.schema, table, affiliateId, batch),
    );
  }

  /** Ends the pool; calling it again is harmless. */
  async close(): Promise<void> {
    if (this.#pool.ending || this.#pool.ended) return;
    await this.#pool.end();
  }

  /**
   * Runs `work` in one transaction and turns its failures into DESTINATION_FAILED. An error
   * raised by the source stream itself is passed on unchanged: the destination did not fail,
   * and whoever produced the rows knows best what went wrong.
   */
  async #run<T>(
    doing: string,
    rows: Readable | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    // A source that fails before the COPY starts would otherwise crash the process with an
    // unhandled 'error'; the stream keeps the error and the COPY reports it.
    const ignore = (): void => undefined;
    rows?.on('error', ignore);

    try {
      return await inTransaction(this.#pool, work);
    } catch (error: unknown) {
      rows?.destroy();
      if (error instanceof SourceRowsFailure) throw error.failure;
      throw destinationFailure(error, this.#settings, doing);
    } finally {
      rows?.off('error', ignore);
    }
  }
}
