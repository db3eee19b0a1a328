import { columnNames } from '../../mirror/tables.ts';
import { quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';
import {
  adjustedDigests,
  digestsOf,
  modifiedDigestSql,
  type DigestRow,
  type RangeDigests,
} from '../../sql/range-digest.ts';
import type { BucketDigest, RangeSince, RangeSource, TimeRange } from '../destination.ts';
import { copyColumns, copyRows } from './bulk-load.ts';
import { columnDefinitions } from './ddl.ts';
import type { DifferenceApplied } from './range-by-value.ts';
import { rangeValues, withinSql, type RangeScope } from './range-scope.ts';

const NEWER = quoteIdentifier('affiliate_mirror_newer');
const GONE = quoteIdentifier('affiliate_mirror_gone');

/**
 * More deletions than this (or than the rows the ranges hold, if more) since the oldest hour
 * compared, and catching up by version is not worth it: the ranges are compared by value.
 */
const MAX_DELETIONS = 100_000;

/** What catching up did, and the digests it leaves. */
export interface CaughtUp extends DifferenceApplied {
  /** The destination's digests of the range now, `held` adjusted by what was written. */
  digests: RangeDigests;
}

/**
 * Catches `ranges` up with the source by version, the cheap way. Every mirror row carries the
 * `change_seq` of the source change that wrote it, and the source numbers its changes in one
 * ascending sequence. So a mirror hour whose newest row is change N lacks at most the rows of
 * changes after N, and holds at most the rows deleted after N: only those are read, the
 * changed rows whole, the deletions as (id, change_seq). A mirror row is replaced only where it
 * differs from the newer source row, and deleted only where it is older than its deletion.
 *
 * That covers what the source did. It does not cover what happened to the mirror itself (a
 * row a customer edited, deleted or added by hand, a change the source committed after later
 * ones the mirror already held): the caller digests the ranges again and compares by value
 * what still differs. Returns undefined, having written nothing, when there are too many
 * deletions to be worth it.
 */
export async function catchUpByVersion(
  scope: RangeScope,
  range: TimeRange,
  ranges: TimeRange[],
  held: RangeDigests,
  source: RangeSource,
): Promise<CaughtUp | undefined> {
  const since = rangesSince(ranges, held);
  const oldest = oldestHeldChange(since);
  const { client } = scope;
  const none: Modified = { digests: new Map(), rows: 0 };

  let deletions = 0;
  if (oldest !== undefined) {
    await client.query(`CREATE TEMP TABLE ${GONE} (id text, change_seq bigint) ON COMMIT DROP`);
    const limit = Math.max(MAX_DELETIONS, heldRows(held));
    const gone = await source.deletionsSince(oldest, limit);
    deletions = await copyColumns(client, GONE, ['id', 'change_seq'], gone.stream);
    await gone.rowCount;
    if (deletions > limit) return undefined;
  }

  await client.query(
    `CREATE TEMP TABLE ${NEWER} (${columnDefinitions(scope.table)}) ON COMMIT DROP`,
  );
  const newer = await source.rowsChangedSince(since);
  await copyRows(client, NEWER, scope.table, newer.stream);
  const rowsRead = await newer.rowCount;

  const deleted = deletions > 0 ? await deleteOlderThanDeletion(scope, range, ranges) : none;
  const replaced = await deleteOutdated(scope, range);
  const inserted = await insertMissing(scope, range);

  const removed = adjustedDigests(deleted.digests, new Map(), replaced.digests);
  return {
    rowsRead,
    rowsWritten: inserted.rows,
    rowsDeleted: deleted.rows + replaced.rows,
    digests: adjustedDigests(held, removed, inserted.digests),
  };
}

/**
 * Each hour of `ranges` with the newest change the mirror holds in it (0: the hour is empty),
 * adjacent hours with the same one joined.
 */
function rangesSince(ranges: TimeRange[], held: RangeDigests): RangeSince[] {
  const since: RangeSince[] = [];
  for (const hour of ranges.flatMap(hoursOf)) {
    const afterChangeSeq = newestHeld(held.get(hourStart(hour.from)));
    const last = since.at(-1);
    if (last && last.afterChangeSeq === afterChangeSeq && last.range.toExclusive === hour.from) {
      last.range = { from: last.range.from, toExclusive: hour.toExclusive };
    } else {
      since.push({ range: hour, afterChangeSeq });
    }
  }
  return since;
}

/**
 * The newest change an hour of the mirror holds, '0' for none. A value no source change can
 * have (a customer's row with a negative or missing `change_seq`) also counts as none: the
 * whole hour is then read again.
 */
function newestHeld(digest: BucketDigest | undefined): string {
  const seq = digest?.maxChangeSeq;
  return seq !== undefined && /^[1-9]\d{0,18}$/.test(seq) ? seq : '0';
}

/** The oldest of the newest changes held, among hours that hold rows at all. */
function oldestHeldChange(since: RangeSince[]): string | undefined {
  let oldest: bigint | undefined;
  for (const { afterChangeSeq } of since) {
    const seq = BigInt(afterChangeSeq);
    if (seq > 0n && (oldest === undefined || seq < oldest)) oldest = seq;
  }
  return oldest?.toString();
}

function heldRows(held: RangeDigests): number {
  let total = 0;
  for (const digest of held.values()) total += digest.rows;
  return total;
}

/** A row of modifiedDigestSql: bucket NULL for the rows outside the range. */
type ModifiedRow = Omit<DigestRow, 'bucket'> & { bucket: string | null };

/** What one statement did: the digests of its rows inside the range, and how many in all. */
interface Modified {
  digests: RangeDigests;
  rows: number;
}

/**
 * Runs a DELETE or INSERT on the mirror table (aliased `target`) and digests the rows it
 * removed or wrote; parameters $1 affiliate id, $2 and $3 the chunk's range, then `values`.
 */
async function modified(
  scope: RangeScope,
  range: TimeRange,
  statement: string,
  values: string[] = [],
): Promise<Modified> {
  const result = await scope.client.query<ModifiedRow>(modifiedDigestSql(statement, scope.table), [
    scope.affiliateId,
    range.from,
    range.toExclusive,
    ...values,
  ]);
  const rows = result.rows.reduce((total, row) => total + row.rows, 0);
  const inRange = result.rows.filter((row): row is DigestRow => row.bucket !== null);
  return { digests: digestsOf(inRange), rows };
}

/*
 * The statements here look up each changed or deleted row in the mirror by its primary key,
 * and delete by that key (never by ctid, which is only unique within one partition). Written
 * as plain joins, the planner may instead hash all of the affiliate's mirror rows (it does so
 * right after a first mirror, before the table has statistics, and spills them to disk), which
 * costs in proportion to the mirror, not to the change. `OFFSET 0` keeps each subquery from
 * being turned into such a join, so the cost follows the number of changed rows.
 */

/**
 * Deletes the mirror rows (`held`) that have the id of a row of `listed` (aliased `listed`) and
 * meet `condition`.
 */
function deleteListed(
  scope: RangeScope,
  range: TimeRange,
  listed: string,
  condition: string,
  values: string[] = [],
): Promise<Modified> {
  return modified(
    scope,
    range,
    `DELETE FROM ${scope.target} AS target
      WHERE target.affiliate_id = $1 AND target.id = ANY (ARRAY(
          SELECT found.id FROM ${listed} AS listed
           CROSS JOIN LATERAL (
               SELECT held.id FROM ${scope.target} AS held
                WHERE held.affiliate_id = $1 AND held.id = listed.id AND (${condition})
               OFFSET 0) AS found))`,
    values,
  );
}

/** Mirror rows of the ranges deleted at the source after they were written. */
function deleteOlderThanDeletion(
  scope: RangeScope,
  range: TimeRange,
  ranges: TimeRange[],
): Promise<Modified> {
  return deleteListed(
    scope,
    range,
    GONE,
    `held.change_seq < listed.change_seq AND (${withinSql(ranges, 4, 'held')})`,
    rangeValues(ranges),
  );
}

/**
 * Mirror rows, wherever their event time puts them, that a newer source row replaces: another
 * version of the row, or the same row moved into these ranges.
 */
function deleteOutdated(scope: RangeScope, range: TimeRange): Promise<Modified> {
  const columns = columnNames(scope.table);
  return deleteListed(
    scope,
    range,
    NEWER,
    `ROW(${quoteList(columns, 'listed.')}) IS DISTINCT FROM ROW(${quoteList(columns, 'held.')})`,
  );
}

function insertMissing(scope: RangeScope, range: TimeRange): Promise<Modified> {
  const list = quoteList(columnNames(scope.table));
  return modified(
    scope,
    range,
    `INSERT INTO ${scope.target} AS target (${list})
     SELECT ${list} FROM ${NEWER} AS newer
      WHERE NOT EXISTS (
          SELECT 1 FROM ${scope.target} AS existing
           WHERE existing.affiliate_id = $1 AND existing.id = newer.id
          OFFSET 0)`,
  );
}

const HOUR_MS = 3_600_000;

function instantText(millis: number): string {
  return new Date(millis).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The digest key of the hour `instant` falls in. */
function hourStart(instant: string): string {
  return instantText(Math.floor(Date.parse(instant) / HOUR_MS) * HOUR_MS);
}

/**
 * `range` cut at whole UTC hours. The ends keep their microseconds: only whole hours are cut
 * here, and every cut falls on a millisecond.
 */
function hoursOf(range: TimeRange): TimeRange[] {
  const hours: TimeRange[] = [];
  let from = range.from;
  while (from < range.toExclusive) {
    const next = instantText(Math.floor(Date.parse(from) / HOUR_MS) * HOUR_MS + HOUR_MS);
    const to = next < range.toExclusive ? next : range.toExclusive;
    hours.push({ from, toExclusive: to });
    from = to;
  }
  return hours;
}
