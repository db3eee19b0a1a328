import type pg from 'pg';

import type {
  BucketDigest,
  RangeSince,
  RangeSource,
  SourceRowStream,
  TimeRange,
} from '../destinations/destination.ts';
import { columnNames, type MirrorTable } from '../mirror/tables.ts';
import { quoteIdentifier, quoteList } from '../sql/postgres-identifiers.ts';
import { DIGEST_SESSION_SETTINGS, queryRangeDigests } from '../sql/range-digest.ts';
import {
  checkedAffiliateId,
  checkedChangeSeq,
  checkedInstant,
  checkedLimit,
  copyOutOn,
} from './source-rows.ts';

/**
 * One chunk's view of the platform store: a REPEATABLE READ transaction on a connection of its
 * own, so that the digests a destination compares against and the rows it then reads are the
 * same data, even while events keep arriving. Close it when the chunk ends.
 *
 * @example
 * const snapshot = await SourceSnapshot.open(pool, eventTables.clicks, 7, range);
 * try {
 *   await destination.syncRange(table, 7, range, snapshot, mark);
 * } finally {
 *   await snapshot.close();
 * }
 */
export class SourceSnapshot implements RangeSource {
  readonly #client: pg.PoolClient;
  readonly #table: MirrorTable;
  readonly #affiliateId: number;
  readonly #range: TimeRange;
  /** Set once the connection is unusable (a COPY abandoned mid-way); it is dropped on close. */
  #broken: Error | undefined;

  private constructor(
    client: pg.PoolClient,
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
  ) {
    this.#client = client;
    this.#table = table;
    this.#affiliateId = checkedAffiliateId(affiliateId);
    this.#range = range;
  }

  static async open(
    pool: pg.Pool,
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
  ): Promise<SourceSnapshot> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const statement of DIGEST_SESSION_SETTINGS) await client.query(statement);
    } catch (error: unknown) {
      client.release(error as Error);
      throw error;
    }
    return new SourceSnapshot(client, table, affiliateId, range);
  }

  digests(): Promise<Map<string, BucketDigest>> {
    return queryRangeDigests(
      this.#client,
      quoteIdentifier(this.#table.name),
      this.#table,
      this.#affiliateId,
      this.#range,
    );
  }

  rows(ranges: TimeRange[] = [this.#range]): Promise<SourceRowStream> {
    const within = ranges.map((range) => withinSql(range)).join(' OR ');
    return this.#copyRows(within || 'false');
  }

  rowsChangedSince(since: RangeSince[]): Promise<SourceRowStream> {
    const within = since
      .map(
        ({ range, afterChangeSeq }) =>
          `(${withinSql(range)} AND change_seq > ${checkedChangeSeq(afterChangeSeq)})`,
      )
      .join(' OR ');
    return this.#copyRows(within || 'false');
  }

  deletionsSince(afterChangeSeq: string, limit: number): Promise<SourceRowStream> {
    // The deletions of a row deleted, inserted again and deleted again are all listed; the
    // destination only ever compares a row with the latest of them that is newer than it.
    // Deletions whose event time is not known (NULL) may belong to this range.
    return this.#copyOut(`COPY (SELECT id, change_seq FROM deleted_rows
       WHERE table_name = ${this.#client.escapeLiteral(this.#table.name)}
         AND affiliate_id = ${this.#affiliateId}
         AND change_seq > ${checkedChangeSeq(afterChangeSeq)}
         AND (occurred_at IS NULL OR ${withinSql(this.#range)})
       LIMIT ${checkedLimit(limit) + 1}) TO STDOUT`);
  }

  #copyRows(condition: string): Promise<SourceRowStream> {
    return this.#copyOut(`COPY (SELECT ${quoteList(columnNames(this.#table))}
       FROM ${quoteIdentifier(this.#table.name)}
      WHERE affiliate_id = ${this.#affiliateId} AND (${condition})) TO STDOUT`);
  }

  #copyOut(query: string): Promise<SourceRowStream> {
    if (this.#broken) return Promise.reject(this.#broken);
    return Promise.resolve(
      copyOutOn(this.#client, query, (error) => {
        if (error) this.#broken = error;
      }),
    );
  }

  /** Ends the transaction and gives the connection back (or drops it, if it is unusable). */
  async close(): Promise<void> {
    if (this.#broken) {
      this.#client.release(this.#broken);
      return;
    }
    try {
      await this.#client.query('COMMIT');
      this.#client.release();
    } catch (error: unknown) {
      this.#client.release(error as Error);
    }
  }
}

function withinSql(range: TimeRange): string {
  const from = checkedInstant(range.from);
  const to = checkedInstant(range.toExclusive);
  return `(occurred_at >= ${from} AND occurred_at < ${to})`;
}
