import { once } from 'node:events';
import type { Readable } from 'node:stream';

import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { AppError } from '../../errors.ts';
import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';
import {
  DIGEST_SESSION_SETTINGS,
  differingRanges,
  digestRows,
  digestsOf,
  rangeDigestSql,
  type RangeDigests,
} from '../../sql/range-digest.ts';
import type { ChunkClaim, RangeSource, ReplaceResult, TimeRange } from '../destination.ts';
import { claimChunk, lockAffiliateTable } from './bookkeeping.ts';
import { copyRows } from './copy-rows.ts';
import { SourceRowsFailure } from '../source-rows-failure.ts';
import { columnDefinitions } from './ddl.ts';
import { reconcile, replaceRange } from './replace-range.ts';

/**
 * Re-mirrors a range by difference. Both databases digest the range hour by hour with the same
 * query (sql/range-digest.ts); only the hours whose digests differ are read from the source,
 * and in those only the rows that changed are written. A re-mirror of an unchanged range thus
 * writes nothing to the customer's database, and one where a tenth of the rows changed writes
 * a tenth of them, instead of rewriting everything (with its WAL, bloat and replica lag).
 *
 * The digests are the reconciliation of what was left alone; before commit, every hour that was
 * written is counted again and must hold the source's number of rows, or nothing is committed.
 */

const INCOMING = quoteIdentifier('affiliate_mirror_diff');
const UNIQUE_VIOLATION = '23505';

interface Scope {
  client: PoolClient;
  target: string;
  table: MirrorTable;
  affiliateId: number;
}

async function destinationDigests(scope: Scope, range: TimeRange): Promise<RangeDigests> {
  const result = await scope.client.query<{ bucket: string; rows: number; hash: string }>(
    rangeDigestSql(scope.target, scope.table),
    [scope.affiliateId, range.from, range.toExclusive],
  );
  return digestsOf(result.rows);
}

async function rangeIsEmpty(scope: Scope, range: TimeRange): Promise<boolean> {
  const result = await scope.client.query(
    `SELECT 1 FROM ${scope.target}
      WHERE affiliate_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz
      LIMIT 1`,
    [scope.affiliateId, range.from, range.toExclusive],
  );
  return result.rowCount === 0;
}

/** `(occurred_at >= $n AND occurred_at < $n+1) OR ...` for `ranges`, parameters from `first`. */
function withinSql(ranges: TimeRange[], first: number, alias: string): string {
  return ranges
    .map((_, i) => {
      const from = `$${first + 2 * i}::timestamptz`;
      const to = `$${first + 2 * i + 1}::timestamptz`;
      return `(${alias}.occurred_at >= ${from} AND ${alias}.occurred_at < ${to})`;
    })
    .join(' OR ');
}

const rangeValues = (ranges: TimeRange[]) => ranges.flatMap((r) => [r.from, r.toExclusive]);

/** Hours are whole; the range's own ends may fall inside one. */
function clamp(ranges: TimeRange[], range: TimeRange): TimeRange[] {
  return ranges.map((r) => ({
    from: r.from < range.from ? range.from : r.from,
    toExclusive: r.toExclusive > range.toExclusive ? range.toExclusive : r.toExclusive,
  }));
}

/**
 * The first mirror of a range: nothing to compare, so the source rows are copied straight into
 * the mirror table, at COPY speed. A row that sits elsewhere in the mirror already (its event
 * time moved at the source) makes the COPY fail on the primary key; the copy is then undone
 * and the range loaded the careful way, from the same snapshot.
 */
async function copyIntoEmptyRange(
  scope: Scope,
  schema: string,
  range: TimeRange,
  source: RangeSource,
  mark: ChunkClaim,
): Promise<ReplaceResult> {
  const { client, target, table } = scope;
  await client.query('SAVEPOINT affiliate_mirror_direct');

  const rows = await source.rows();
  const copied = await copyKeepingSource(client, target, table, rows.stream);
  const sent = await rows.rowCount;
  if (copied.ok) {
    reconcile(copied.rows, sent, `${table.name} [${range.from}, ${range.toExclusive})`);
    return { rowsWritten: copied.rows, rowsDeleted: 0, rowsInRange: copied.rows, rowsRead: sent };
  }
  await client.query('ROLLBACK TO SAVEPOINT affiliate_mirror_direct');

  const again = await source.rows();
  const sentMark = { ...mark, sourceRowCount: again.rowCount };
  return replaceRange(client, schema, table, scope.affiliateId, range, again.stream, sentMark, {
    claimed: true,
  });
}

/**
 * COPY into the mirror table that, when the server refuses a row as a duplicate key, reads the
 * rest of the source stream to its end instead of abandoning it: the source snapshot's
 * connection stays usable, and the range can be read again from it.
 */
async function copyKeepingSource(
  client: PoolClient,
  target: string,
  table: MirrorTable,
  rows: Readable,
): Promise<{ ok: true; rows: number } | { ok: false }> {
  const copy = client.query(
    copyFrom(`COPY ${target} (${quoteList(columnNames(table))}) FROM STDIN`),
  );
  // Errors are read through the promises below; these keep a late second one (a connection
  // that dies after the COPY failed) from becoming an uncaught exception.
  copy.on('error', () => undefined);
  rows.on('error', () => undefined);
  const sourceEnded = once(rows, 'end');
  sourceEnded.catch(() => undefined);
  const sourceFailed = new Promise<never>((_, reject) =>
    rows.once('error', (error) => reject(new SourceRowsFailure(error))),
  );
  sourceFailed.catch(() => undefined);

  try {
    rows.pipe(copy);
    await Promise.race([once(copy, 'finish'), sourceFailed]);
    return { ok: true, rows: copy.rowCount };
  } catch (error: unknown) {
    if ((error as { code?: string }).code !== UNIQUE_VIOLATION) {
      copy.destroy(error as Error);
      rows.destroy();
      throw error;
    }
    rows.unpipe(copy);
    rows.resume();
    await sourceEnded;
    return { ok: false };
  }
}

/**
 * Brings the differing hours to the source's rows: loads the source rows of those hours into a
 * temporary table, deletes mirror rows that are gone or changed, and moved rows (same id,
 * another time), then inserts the rows the mirror lacks.
 */
async function applyDifference(
  scope: Scope,
  differing: TimeRange[],
  source: RangeSource,
): Promise<{ rowsRead: number; rowsWritten: number; rowsDeleted: number }> {
  const { client, target, table, affiliateId } = scope;
  const columns = columnNames(table);
  const list = quoteList(columns);

  await client.query(`CREATE TEMP TABLE ${INCOMING} (${columnDefinitions(table)}) ON COMMIT DROP`);
  const rows = await source.rows(differing);
  await copyRows(client, INCOMING, table, rows.stream);
  const rowsRead = await rows.rowCount;
  // No ANALYZE: it costs a tenth of the chunk, and a table never analysed is estimated from
  // its actual size, which is all the planner needs to choose hash joins here.

  const values = [affiliateId, ...rangeValues(differing)];
  const gone = await client.query(
    `DELETE FROM ${target} AS target
      WHERE target.affiliate_id = $1 AND (${withinSql(differing, 2, 'target')})
        AND NOT EXISTS (
          SELECT 1 FROM ${INCOMING} incoming
           WHERE incoming.id = target.id
             AND ROW(${quoteList(columns, 'incoming.')}) IS NOT DISTINCT FROM ROW(${quoteList(columns, 'target.')}))`,
    values,
  );
  const moved = await client.query(
    `DELETE FROM ${target} AS target USING ${INCOMING} AS incoming
      WHERE target.affiliate_id = $1 AND target.id = incoming.id
        AND NOT (${withinSql(differing, 2, 'target')})`,
    values,
  );
  const inserted = await client.query(
    `INSERT INTO ${target} (${list})
     SELECT ${list} FROM ${INCOMING} AS incoming
      WHERE NOT EXISTS (
          SELECT 1 FROM ${target} AS target
           WHERE target.affiliate_id = $1 AND target.id = incoming.id)`,
    [affiliateId],
  );

  return {
    rowsRead,
    rowsWritten: inserted.rowCount ?? 0,
    rowsDeleted: (gone.rowCount ?? 0) + (moved.rowCount ?? 0),
  };
}

/**
 * Fails the chunk unless every hour of `ranges` now holds as many rows as the source's digest
 * says. Counting is enough here: the rows kept were each found equal, column by column, to a
 * source row, and the others were inserted from the source's rows; what could still go wrong
 * is a row too many or too few.
 */
async function checkCounts(
  scope: Scope,
  ranges: TimeRange[],
  expected: RangeDigests,
  what: string,
): Promise<void> {
  const result = await scope.client.query<{ bucket: string; rows: number }>(
    `SELECT to_char(date_trunc('hour', target.occurred_at) AT TIME ZONE 'UTC',
                    'YYYY-MM-DD"T"HH24:00:00.000000"Z"') AS bucket,
            count(*)::int AS rows
       FROM ${scope.target} AS target
      WHERE target.affiliate_id = $1 AND (${withinSql(ranges, 2, 'target')})
      GROUP BY 1`,
    [scope.affiliateId, ...rangeValues(ranges)],
  );
  const held = new Map(result.rows.map((row) => [row.bucket, row.rows]));
  const hours = new Set([...held.keys()]);
  for (const bucket of expected.keys()) {
    if (ranges.some((range) => inHours(bucket, range))) hours.add(bucket);
  }

  for (const hour of [...hours].sort()) {
    const sent = expected.get(hour)?.rows ?? 0;
    const holds = held.get(hour) ?? 0;
    if (sent === holds) continue;
    throw new AppError(
      'RECONCILIATION_FAILED',
      `${what}: after the load the hour from ${hour} holds ${holds} rows but the source has ` +
        `${sent}; nothing was committed.`,
    );
  }
}

function inHours(bucket: string, range: TimeRange): boolean {
  const end = new Date(Date.parse(bucket) + 3_600_000).toISOString().replace('.000Z', '.000000Z');
  return end > range.from && bucket < range.toExclusive;
}

export async function syncRange(
  client: PoolClient,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  range: TimeRange,
  source: RangeSource,
  mark: ChunkClaim,
): Promise<ReplaceResult> {
  const scope: Scope = { client, target: qualifiedName(schema, table.name), table, affiliateId };
  const what = `${table.name} [${range.from}, ${range.toExclusive})`;

  await claimChunk(client, schema, mark);
  await lockAffiliateTable(client, schema, table.name, affiliateId);
  for (const statement of DIGEST_SESSION_SETTINGS) await client.query(statement);

  if (await rangeIsEmpty(scope, range)) {
    return copyIntoEmptyRange(scope, schema, range, source, mark);
  }

  // The two digests run at once, each on its own server.
  const [wanted, held] = await Promise.all([source.digests(), destinationDigests(scope, range)]);
  const differing = clamp(differingRanges(wanted, held), range);
  const rowsInRange = digestRows(wanted);
  if (differing.length === 0) {
    return { rowsWritten: 0, rowsDeleted: 0, rowsInRange, rowsRead: 0 };
  }

  const applied = await applyDifference(scope, differing, source);
  await checkCounts(scope, differing, wanted, what);
  return { ...applied, rowsInRange };
}
