import type { Readable } from 'node:stream';

import type { Logger } from '../../logger.ts';
import type { MirrorTable } from '../../mirror/tables.ts';
import type {
  ApplyResult,
  ChangeBatch,
  ChangeCursor,
  ChunkMark,
  ConnectionSettings,
  CopyTextStream,
  Destination,
  MergeResult,
  ReplaceResult,
  SchemaReport,
  TimeRange,
} from '../destination.ts';
import { checkRange } from '../range-checks.ts';
import { applyChanges } from './apply-changes.ts';
import { committedChunks, readCursor } from './bookkeeping.ts';
import { SourceRowsFailure } from '../source-rows-failure.ts';
import { describeConnection, SqlServerSession } from './connection.ts';
import { testConnection } from './connection-test.ts';
import { destinationFailure } from './errors.ts';
import { mergeDimension } from './merge-dimensions.ts';
import { replaceRange } from './replace-range.ts';
import { ensureTables } from './schema-drift.ts';

/**
 * A customer's SQL Server database as a mirror destination. Each operation opens a connection
 * of its own, runs in one transaction and closes the connection. Failures come out as AppError
 * DESTINATION_FAILED (or CONNECTION_TEST_FAILED) with the server's message and error number
 * and never the password; errors of the source stream come out unchanged.
 *
 * @example
 * const destination = new SqlServerDestination(settings, logger);
 * await destination.ensureTables(allTables);
 * await destination.replaceRange(eventTables.clicks, 42, range, copyTextRows, mark);
 * await destination.close();
 */
export class SqlServerDestination implements Destination {
  readonly #settings: ConnectionSettings;
  readonly #logger: Logger;

  constructor(settings: ConnectionSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger.child({
      destination: describeConnection(settings),
      schema: settings.schema,
    });
  }

  async testConnection(): Promise<void> {
    await testConnection(this.#settings);
    this.#logger.info('connection test passed');
  }

  async ensureTables(tables: MirrorTable[]): Promise<SchemaReport> {
    const report = await this.#run('creating the mirror tables', undefined, (session) =>
      ensureTables(session, this.#settings.schema, tables),
    );

    if (report.created.length > 0 || report.addedColumns.length > 0) {
      this.#logger.info(report, 'mirror tables created or repaired');
    }
    return report;
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
    const result = await this.#run(doing, rows, (session) =>
      replaceRange(session, this.#settings.schema, table, affiliateId, range, rows, mark),
    );

    this.#logger.debug({ table: table.name, affiliateId, ...range, ...result }, 'range replaced');
    return result;
  }

  async mergeDimension(
    table: MirrorTable,
    affiliateId: number,
    rows: CopyTextStream,
    mark: ChunkMark,
  ): Promise<MergeResult> {
    const doing = `merging ${table.name} of affiliate ${affiliateId}`;
    const result = await this.#run(doing, rows, (session) =>
      mergeDimension(session, this.#settings.schema, table, affiliateId, rows, mark),
    );

    this.#logger.debug({ table: table.name, affiliateId, ...result }, 'dimension merged');
    return result;
  }

  async committedChunks(executionId: string): Promise<Set<number>> {
    return this.#run('reading committed chunks', undefined, (session) =>
      committedChunks(session, this.#settings.schema, executionId),
    );
  }

  async readCursor(table: MirrorTable, affiliateId: number): Promise<ChangeCursor | undefined> {
    return this.#run(`reading the ${table.name} cursor`, undefined, (session) =>
      readCursor(session, this.#settings.schema, affiliateId, table.name),
    );
  }

  async applyChanges(
    table: MirrorTable,
    affiliateId: number,
    batch: ChangeBatch,
  ): Promise<ApplyResult> {
    const doing = `applying ${table.name} changes of affiliate ${affiliateId}`;
    return this.#run(doing, batch.rows, (session) =>
      applyChanges(session, this.#settings.schema, table, affiliateId, batch),
    );
  }

  /** Nothing stays open between operations, so there is nothing to close. */
  async close(): Promise<void> {}

  /**
   * Opens a connection, runs `work` in one transaction and closes the connection. On failure
   * the connection is closed without a ROLLBACK request: the driver may be in the middle of a
   * bulk load, and the server rolls back the open transaction of a closed session anyway. An
   * error raised by the source stream itself is passed on unchanged.
   */
  async #run<T>(
    doing: string,
    rows: Readable | undefined,
    work: (session: SqlServerSession) => Promise<T>,
  ): Promise<T> {
    // A source that fails before the load starts would otherwise crash the process with an
    // unhandled 'error'; the stream keeps the error and the load reports it.
    const ignore = (): void => undefined;
    rows?.on('error', ignore);
    let session: SqlServerSession | undefined;

    try {
      session = await SqlServerSession.open(this.#settings);
      await session.begin();
      const result = await work(session);
      await session.commit();
      return result;
    } catch (error: unknown) {
      rows?.destroy();
      if (error instanceof SourceRowsFailure) throw error.failure;
      throw destinationFailure(error, this.#settings, doing);
    } finally {
      await session?.close();
      rows?.off('error', ignore);
    }
  }
}
