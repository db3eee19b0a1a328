/**
 * applyChanges for SQL Server: one batch of the continuous mirror, newer versions only, with
 * the table's cursor moved in the same transaction.
 */
import { AppError } from '../../errors.ts';
import { columnNames, type MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteList } from '../../sql/sqlserver-identifiers.ts';
import type { ApplyResult, ChangeBatch, ChangeCursor } from '../destination.ts';
import {
  insertCursorIfMissing,
  lockAffiliateTable,
  readCursor,
  writeCursor,
} from './bookkeeping.ts';
import { INCOMING, stageRows } from './bulk-load.ts';
import type { Parameter, SqlServerSession } from './connection.ts';
import { SAME_KEY, setValuesSql } from './merge-dimensions.ts';

/** SQL Server refuses a request with more than 2,100 parameters. */
export const MAX_PARAMETERS_PER_STATEMENT = 2_100;

/** Two parameters per deletion plus the affiliate: 2,001 at most, under the limit. */
export const DELETIONS_PER_STATEMENT = 1_000;

export interface Statement {
  sql: string;
  parameters: Parameter[];
}

/**
 * Only a newer version replaces a mirror row: `change_seq` grows with every write of a row at
 * the source, so an old version arriving late (a retry, an overlapping reload) is ignored.
 */
export function upsertNewerStatements(schema: string, table: MirrorTable) {
  const target = qualifiedName(schema, table.name);
  const columns = quoteList(columnNames(table));

  return {
    update: `UPDATE target SET ${setValuesSql(table)}
FROM ${target} AS target JOIN ${INCOMING} AS incoming ON ${SAME_KEY}
WHERE target.[affiliate_id] = @affiliateId AND target.[change_seq] < incoming.[change_seq]`,
    insert: `INSERT INTO ${target} (${columns})
SELECT ${quoteList(columnNames(table), 'incoming.')} FROM ${INCOMING} AS incoming
WHERE incoming.[affiliate_id] = @affiliateId
  AND NOT EXISTS (SELECT 1 FROM ${target} AS target WHERE ${SAME_KEY})`,
  };
}

/**
 * Deletions in statements of at most DELETIONS_PER_STATEMENT rows. A row is deleted only when
 * the mirror's version is older than its deletion; the change numbers travel as text and are
 * converted on the server.
 */
export function deletionStatements(
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  deletions: ChangeBatch['deletions'],
): Statement[] {
  const target = qualifiedName(schema, table.name);
  const statements: Statement[] = [];

  for (let start = 0; start < deletions.length; start += DELETIONS_PER_STATEMENT) {
    const batch = deletions.slice(start, start + DELETIONS_PER_STATEMENT);
    const parameters: Parameter[] = [{ name: 'affiliateId', type: 'int', value: affiliateId }];
    const values = batch.map((deletion, index) => {
      parameters.push({ name: `id${index}`, type: 'nvarchar', value: deletion.id });
      parameters.push({ name: `seq${index}`, type: 'nvarchar', value: deletion.changeSeq });
      return `(@id${index}, CAST(@seq${index} AS bigint))`;
    });

    statements.push({
      sql: `DELETE target FROM ${target} AS target
JOIN (VALUES ${values.join(', ')}) AS gone ([id], [change_seq]) ON target.[id] = gone.[id]
WHERE target.[affiliate_id] = @affiliateId AND target.[change_seq] < gone.[change_seq]`,
      parameters,
    });
  }
  return statements;
}

function sameCursor(a: ChangeCursor, b: ChangeCursor): boolean {
  return BigInt(a.xid) === BigInt(b.xid) && BigInt(a.seq) === BigInt(b.seq);
}

/**
 * Applies one batch inside the caller's transaction and moves the cursor with it. The cursor
 * row is locked (UPDLOCK, HOLDLOCK) after the affiliate's write lock: a second writer waits,
 * then finds the cursor moved and gives up instead of applying the same changes again.
 */
export async function applyChanges(
  session: SqlServerSession,
  schema: string,
  table: MirrorTable,
  affiliateId: number,
  batch: ChangeBatch,
): Promise<ApplyResult> {
  const rowsRead = await stageRows(session, table, batch.rows);

  await lockAffiliateTable(session, schema, table.name, affiliateId);
  await insertCursorIfMissing(session, schema, affiliateId, table.name, batch.from);
  const current = await readCursor(session, schema, affiliateId, table.name, true);
  if (!current || !sameCursor(current, batch.from)) {
    throw new AppError(
      'SYNC_CURSOR_MOVED',
      `the ${table.name} cursor is at ${JSON.stringify(current)}, not ${JSON.stringify(batch.from)}`,
    );
  }

  const affiliate: Parameter[] = [{ name: 'affiliateId', type: 'int', value: affiliateId }];
  const upsert = upsertNewerStatements(schema, table);
  const updated = await session.affected(upsert.update, affiliate);
  const inserted = await session.affected(upsert.insert, affiliate);

  let rowsDeleted = 0;
  for (const statement of deletionStatements(schema, table, affiliateId, batch.deletions)) {
    rowsDeleted += await session.affected(statement.sql, statement.parameters);
  }

  await writeCursor(session, schema, affiliateId, table.name, batch.to);
  return { rowsRead, rowsWritten: updated + inserted, rowsDeleted };
}
