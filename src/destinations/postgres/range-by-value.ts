import { columnNames } from '../../mirror/tables.ts';
import { quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';
import type { RangeSource, TimeRange } from '../destination.ts';
import { copyRows } from './bulk-load.ts';
import { columnDefinitions } from './ddl.ts';
import { rangeValues, withinSql, type RangeScope } from './range-scope.ts';

const INCOMING = quoteIdentifier('affiliate_mirror_by_value');

export interface DifferenceApplied {
  rowsRead: number;
  rowsWritten: number;
  rowsDeleted: number;
}

/**
 * Brings `ranges` to the source's rows by comparing every column: loads all source rows of
 * those ranges into a temporary table, deletes mirror rows that are gone or differ in any
 * value, and rows whose id now belongs to these ranges (their event time moved), then inserts
 * the rows the mirror lacks. It repairs anything, including rows a customer edited in the
 * mirror without changing their `change_seq`, at the price of reading every source row of the
 * ranges; syncRange uses it for the hours that catching up by version left different.
 */
export async function applyByValue(
  scope: RangeScope,
  ranges: TimeRange[],
  source: RangeSource,
): Promise<DifferenceApplied> {
  const { client, target, table, affiliateId } = scope;
  const columns = columnNames(table);
  const list = quoteList(columns);

  await client.query(`CREATE TEMP TABLE ${INCOMING} (${columnDefinitions(table)}) ON COMMIT DROP`);
  const rows = await source.rows(ranges);
  await copyRows(client, INCOMING, table, rows.stream);
  const rowsRead = await rows.rowCount;
  // No ANALYZE: it costs a tenth of the chunk, and a table never analysed is estimated from
  // its actual size, which is all the planner needs to choose hash joins here.

  const values = [affiliateId, ...rangeValues(ranges)];
  const gone = await client.query(
    `DELETE FROM ${target} AS target
      WHERE target.affiliate_id = $1 AND (${withinSql(ranges, 2, 'target')})
        AND NOT EXISTS (
          SELECT 1 FROM ${INCOMING} incoming
           WHERE incoming.id = target.id
             AND ROW(${quoteList(columns, 'incoming.')}) IS NOT DISTINCT FROM ROW(${quoteList(columns, 'target.')}))`,
    values,
  );
  const moved = await client.query(
    `DELETE FROM ${target} AS target USING ${INCOMING} AS incoming
      WHERE target.affiliate_id = $1 AND target.id = incoming.id
        AND NOT (${withinSql(ranges, 2, 'target')})`,
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
