import type { PoolClient } from 'pg';

import type { MirrorTable } from '../../mirror/tables.ts';
import type { TimeRange } from '../destination.ts';

/** What every step of a re-mirror by difference works on, inside the chunk's transaction. */
export interface RangeScope {
  client: PoolClient;
  /** The mirror table, quoted and qualified with the destination schema. */
  target: string;
  table: MirrorTable;
  affiliateId: number;
}

/**
 * `(alias.occurred_at >= $n AND alias.occurred_at < $n+1) OR ...` for `ranges`, numbering the
 * parameters from `first`; pass {@link rangeValues} of the same ranges at that position.
 */
export function withinSql(ranges: TimeRange[], first: number, alias: string): string {
  return ranges
    .map((_, i) => {
      const from = `$${first + 2 * i}::timestamptz`;
      const to = `$${first + 2 * i + 1}::timestamptz`;
      return `(${alias}.occurred_at >= ${from} AND ${alias}.occurred_at < ${to})`;
    })
    .join(' OR ');
}

export const rangeValues = (ranges: TimeRange[]): string[] =>
  ranges.flatMap((range) => [range.from, range.toExclusive]);
