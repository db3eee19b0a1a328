import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { quoteList } from '../../sql/postgres-identifiers.ts';
import { SourceRowsFailure } from '../source-rows-failure.ts';

/**
 * Streams COPY text rows into `target` (an already quoted, possibly qualified table name) with
 * the columns of `table` in catalogue order, and returns how many rows the server stored. The
 * bytes go from `rows` to the server as they come: nothing is parsed or buffered here. On any
 * failure both streams are destroyed, which makes the server abandon the COPY.
 */
export function copyRows(
  client: PoolClient,
  target: string,
  table: MirrorTable,
  rows: Readable,
): Promise<number> {
  return copyColumns(client, target, columnNames(table), rows);
}

/** {@link copyRows} for rows of the given columns, in that order. */
export async function copyColumns(
  client: PoolClient,
  target: string,
  columns: string[],
  rows: Readable,
): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${target} (${quoteList(columns)}) FROM STDIN`));

  // pipeline destroys every stream with the first error, so a server error comes back out of
  // the source stream too. Only the error the COPY stream raised itself is the destination's.
  let copyError: unknown;
  copy.once('error', (error) => (copyError = error));

  try {
    await pipeline(rows, copy);
  } catch (error: unknown) {
    if (error === copyError) throw error;
    throw new SourceRowsFailure(error);
  }
  return copy.rowCount;
}
