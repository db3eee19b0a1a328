import { PassThrough } from 'node:stream';

import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

import type { TimeRange } from '../destinations/destination.ts';
import { columnNames, type MirrorTable } from '../mirror/tables.ts';
import { quoteIdentifier, quoteList } from '../sql/postgres-identifiers.ts';

/**
 * Reads the platform store's rows for the mirror as a COPY text stream, one statement per
 * read so that each chunk is a consistent snapshot. COPY takes no parameters; every value
 * placed into the statement is checked to be a plain integer or instant first.
 */

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function checkedAffiliateId(affiliateId: number): number {
  if (!Number.isInteger(affiliateId))
    throw new Error(`affiliate id ${affiliateId} is not an integer`);
  return affiliateId;
}

export function checkedInstant(value: string): string {
  if (!INSTANT.test(value))
    throw new Error(`"${value}" is not an instant of the form 2017-11-07T00:00:00.000000Z`);
  return `'${value}'::timestamptz`;
}

/** A change sequence number (a non-negative 64-bit integer, as text), ready to place in SQL. */
export function checkedChangeSeq(value: string): string {
  if (!/^\d{1,19}$/.test(value)) throw new Error(`"${value}" is not a change sequence number`);
  return `${value}::bigint`;
}

export function checkedLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`${limit} is not a row limit`);
  return limit;
}

export interface SourceRows {
  stream: PassThrough;
  /** Resolves with the number of rows read once the stream has ended. */
  rowCount: Promise<number>;
}

export async function copyOut(pool: pg.Pool, query: string): Promise<SourceRows> {
  const client = await pool.connect();
  // Fixed output settings: the destination must read exactly the instants we wrote out.
  await client.query(`SET datestyle = 'ISO, YMD'; SET timezone = 'UTC'`);
  return copyOutOn(client, query, (error) => client.release(error));
}

/**
 * Runs a COPY ... TO STDOUT on `client` and hands its rows on as a stream. `done` is called
 * once: without an error when the COPY completed and the client can be used again, with one
 * when it failed or was abandoned mid-way (the client is then mid-COPY and must be dropped).
 */
export function copyOutOn(
  client: pg.PoolClient,
  query: string,
  done: (error?: Error) => void,
): SourceRows {
  const source = client.query(copyTo(query));
  const stream = new PassThrough();

  let finished = false;
  let ended = false;
  const finish = (error?: Error) => {
    if (finished) return;
    finished = true;
    done(error);
  };

  const rowCount = new Promise<number>((resolve, reject) => {
    source.on('error', (error: Error) => {
      finish(error);
      stream.destroy(error);
      reject(error);
    });
    source.on('end', () => {
      ended = true;
      // The stream ends at CopyDone; the row count arrives after it, with CommandComplete.
      // A query queued behind the COPY resolves only once that has been read.
      client.query('SELECT 1').then(
        () => {
          finish();
          resolve(source.rowCount);
        },
        (error: Error) => {
          finish(error);
          reject(error);
        },
      );
    });
    // The destination gave up before reading everything: stop the COPY and drop the
    // connection (it is mid-COPY, so it cannot be reused).
    stream.on('close', () => {
      if (finished || ended) return;
      const abandoned = new Error('the destination stopped reading the source rows');
      source.destroy(abandoned);
      finish(abandoned);
      reject(abandoned);
    });
  });
  rowCount.catch(() => undefined);
  source.pipe(stream);
  return { stream, rowCount };
}

/** The affiliate's rows of an event table with `range.from <= occurred_at < range.toExclusive`. */
export function readEventRows(
  pool: pg.Pool,
  table: MirrorTable,
  affiliateId: number,
  range: TimeRange,
): Promise<SourceRows> {
  const columns = quoteList(columnNames(table));
  const query = `COPY (SELECT ${columns} FROM ${quoteIdentifier(table.name)}
     WHERE affiliate_id = ${checkedAffiliateId(affiliateId)}
       AND occurred_at >= ${checkedInstant(range.from)}
       AND occurred_at < ${checkedInstant(range.toExclusive)}) TO STDOUT`;
  return copyOut(pool, query);
}

/** All of the affiliate's rows of a dimension table. */
export function readDimensionRows(
  pool: pg.Pool,
  table: MirrorTable,
  affiliateId: number,
): Promise<SourceRows> {
  const columns = quoteList(columnNames(table));
  const query = `COPY (SELECT ${columns} FROM ${quoteIdentifier(table.name)}
     WHERE affiliate_id = ${checkedAffiliateId(affiliateId)}) TO STDOUT`;
  return copyOut(pool, query);
}

/**
 * UTC day numbers (days since 1970-01-01) on which the affiliate has rows of the table. Each
 * day costs one probe of the (affiliate_id, occurred_at) index, jumping from the first row of a
 * day to the first row of a later day, so a window of millions of rows is planned without
 * reading them.
 */
export async function daysWithRows(
  pool: pg.Pool,
  table: MirrorTable,
  affiliateId: number,
  range: TimeRange,
): Promise<bigint[]> {
  const relation = quoteIdentifier(table.name);
  const firstDayFrom = (start: string) =>
    `(SELECT date_trunc('day', min(occurred_at) AT TIME ZONE 'UTC') FROM ${relation}
       WHERE affiliate_id = $1 AND occurred_at >= ${start} AND occurred_at < $3::timestamptz)`;
  const result = await pool.query<{ day: string }>(
    `WITH RECURSIVE days (day) AS (
       SELECT ${firstDayFrom('$2::timestamptz')}
       UNION ALL
       SELECT ${firstDayFrom(`((days.day + interval '1 day') AT TIME ZONE 'UTC')`)}
         FROM days WHERE days.day IS NOT NULL
     )
     SELECT (extract(epoch FROM day)::bigint / 86400)::text AS day FROM days WHERE day IS NOT NULL`,
    [affiliateId, range.from, range.toExclusive],
  );
  return result.rows.map((row) => BigInt(row.day));
}
