import { once } from 'node:events';
import type { Readable } from 'node:stream';

import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { AppError } from '../../errors.ts';
import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteList } from '../../sql/postgres-identifiers.ts';
import {
  DIGEST_SESSION_SETTINGS,
  differingRanges,
  digestRows,
  queryRangeDigests,
  type RangeDigests,
} from '../../sql/range-digest.ts';
import type { ChunkClaim, RangeSource, ReplaceResult, TimeRange } from '../destination.ts';
import { SourceRowsFailure } from '../source-rows-failure.ts';
import { claimChunk, lockAffiliateTable } from './bookkeeping.ts';
import { applyByValue, type DifferenceApplied } from './range-by-value.ts';
import { catchUpByVersion } from './range-by-version.ts';
import type { RangeScope } from './range-scope.ts';
import { reconcile, replaceRange } from './replace-range.ts';

/**
 * Re-mirrors a range by difference. Both databases digest the range hour by hour with the same
 * query (sql/range-digest.ts); hours with equal digests are left alone. The others are caught
 * up by version first (range-by-version.ts: only rows of source changes newer than what the
 * mirror's hour holds are read), digested again, and what still differs is compared value by
 * value (range-by-value.ts). A re-mirror of an unchanged range thus writes nothing to the
 * customer's database, and one where a tenth of the rows changed reads and writes about a
 * tenth of them, instead of rewriting everything (with its WAL, bloat and replica lag).
 *
 * The digests are the reconciliation: nothing commits unless every hour of the range digests
 * at the destination exactly as at the source, row count and values.
 */

const UNIQUE_VIOLATION = '23505';

function destinationDigests(scope: RangeScope, range: TimeRange): Promise<RangeDigests> {
  return queryRangeDigests(scope.client, scope.target, scope.table, scope.affiliateId, range);
}

async function rangeIsEmpty(scope: RangeScope, range: TimeRange): Promise<boolean> {
  const result = await scope.client.query(
    `SELECT 1 FROM ${scope.target}
      WHERE affiliate_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz
      LIMIT 1`,
    [scope.affiliateId, range.from, range.toExclusive],
  );
  return result.rowCount === 0;
}

/** The hours whose digests differ, as ranges; hours are whole, the range's ends may cut one. */
function differingWithin(range: TimeRange, wanted: RangeDigests, held: RangeDigests): TimeRange[] {
  return differingRanges(wanted, held).map((r) => ({
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
  scope: RangeScope,
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
 * Fails the chunk unless every hour of the range now digests at the destination as it does at
 * the source: the same number of rows, and the same values.
 */
async function checkDigests(
  scope: RangeScope,
  range: TimeRange,
  wanted: RangeDigests,
  what: string,
): Promise<void> {
  const held = await destinationDigests(scope, range);
  const hours = [...new Set([...wanted.keys(), ...held.keys()])].sort();

  for (const hour of hours) {
    const sent = wanted.get(hour);
    const holds = held.get(hour);
    if ((sent?.rows ?? 0) !== (holds?.rows ?? 0)) {
      throw new AppError(
        'RECONCILIATION_FAILED',
        `${what}: after the load the hour from ${hour} holds ${holds?.rows ?? 0} rows but the ` +
          `source has ${sent?.rows ?? 0}; nothing was committed.`,
      );
    }
    if (sent && holds && sent.hash !== holds.hash) {
      throw new AppError(
        'RECONCILIATION_FAILED',
        `${what}: after the load the hour from ${hour} holds the source's ${sent.rows} rows but ` +
          `not with the same values; nothing was committed.`,
      );
    }
  }
}

function add(total: DifferenceApplied, step: DifferenceApplied): void {
  total.rowsRead += step.rowsRead;
  total.rowsWritten += step.rowsWritten;
  total.rowsDeleted += step.rowsDeleted;
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
  const scope: RangeScope = {
    client,
    target: qualifiedName(schema, table.name),
    table,
    affiliateId,
  };
  const what = `${table.name} [${range.from}, ${range.toExclusive})`;

  await claimChunk(client, schema, mark);
  await lockAffiliateTable(client, schema, table.name, affiliateId);
  for (const statement of DIGEST_SESSION_SETTINGS) await client.query(statement);

  if (await rangeIsEmpty(scope, range)) {
    return copyIntoEmptyRange(scope, schema, range, source, mark);
  }

  // The two digests run at once, each on its own server.
  const [wanted, held] = await Promise.all([source.digests(), destinationDigests(scope, range)]);
  const rowsInRange = digestRows(wanted);
  const done: DifferenceApplied = { rowsRead: 0, rowsWritten: 0, rowsDeleted: 0 };
  let differing = differingWithin(range, wanted, held);
  if (differing.length === 0) return { ...done, rowsInRange };

  // The digests after catching up are the ones held, adjusted by exactly what each statement
  // deleted and inserted (they return the hashes of their rows): the range is not read again.
  const byVersion = await catchUpByVersion(scope, range, differing, held, source);
  if (byVersion) {
    add(done, byVersion);
    differing = differingWithin(range, wanted, byVersion.digests);
    if (differing.length === 0) return { ...done, rowsInRange };
  }

  add(done, await applyByValue(scope, differing, source));
  await checkDigests(scope, range, wanted, what);
  return { ...done, rowsInRange };
}
