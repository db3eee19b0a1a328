import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { quoteList } from './identifiers.ts';

/**
 * Streams COPY text rows into `target` (an already quoted, possibly qualified table name) with
 * the columns of `table` in catalogue order, and returns how many rows the server stored. The
 * bytes go from `rows` to the server as they come: nothing is parsed or buffered here. On any
 * failure both streams are destroyed, which makes the server abandon the COPY.
 */
export async function copyRows(
  client: PoolClient,
  target: string,
  table: MirrorTable,
  rows: Readable,
): Promise<number> {
  const columns = quoteList(columnNames(table));
  const copy = client.query(copyFrom(`COPY ${target} (${columns}) FROM STDIN`));

  await pipeline(rows, copy);
  return copy.rowCount;
}
