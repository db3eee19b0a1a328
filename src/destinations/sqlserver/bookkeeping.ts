/**
 * The mirror's own records in the destination schema, written in the same transaction as the
 * rows they describe (see docs/mirror-tables.md), and the application lock that serialises
 * writers of one affiliate's rows of one table. The SQL is built by pure functions, so its
 * exact text is tested without a server.
 */
import { AppError } from '../../errors.ts';
import { qualifiedName, quoteIdentifier } from '../../sql/sqlserver-identifiers.ts';
import type { ChangeCursor, ChunkMark } from '../destination.ts';
import type { SqlServerSession } from './connection.ts';

export const CHUNKS_TABLE = '_mirror_chunks';
export const CURSORS_TABLE = '_mirror_cursors';

/** Violation of a primary key (2627) or of a unique index (2601). */
const DUPLICATE_KEY_NUMBERS = new Set([2627, 2601]);

/**
 * Our own error number for an application lock that was not granted (a lock timeout or a
 * deadlock victim): like 1205 and 1222, worth another try. See errors.ts.
 */
export const APPLOCK_NOT_GRANTED = 50001;

export function bookkeepingTableSql(schema: string, name: string): string {
  const table = qualifiedName(schema, name);
  const defaultNow = (column: string) =>
    `CONSTRAINT ${quoteIdentifier(`${name}_${column}_df`)} DEFAULT SYSDATETIMEOFFSET()`;

  if (name === CHUNKS_TABLE) {
    return `CREATE TABLE ${table} (
  [execution_id] uniqueidentifier NOT NULL,
  [chunk_index] int NOT NULL,
  [worker_id] nvarchar(max) NOT NULL,
  [committed_at] datetimeoffset(7) NOT NULL ${defaultNow('committed_at')},
  CONSTRAINT ${quoteIdentifier(`${name}_pkey`)} PRIMARY KEY ([execution_id], [chunk_index]))`;
  }
  return `CREATE TABLE ${table} (
  [affiliate_id] int NOT NULL,
  [table_name] nvarchar(128) NOT NULL,
  [cursor_xid] decimal(20,0) NOT NULL,
  [cursor_seq] bigint NOT NULL,
  [updated_at] datetimeoffset(7) NOT NULL ${defaultNow('updated_at')},
  CONSTRAINT ${quoteIdentifier(`${name}_pkey`)} PRIMARY KEY ([affiliate_id], [table_name]))`;
}

export function claimChunkSql(schema: string): string {
  return `INSERT INTO ${qualifiedName(schema, CHUNKS_TABLE)} ([execution_id], [chunk_index], [worker_id])
VALUES (@executionId, @chunkIndex, @workerId)`;
}

/**
 * Claims a chunk in its transaction. A second writer of the same chunk waits on the primary
 * key until the first commits and then fails, so no chunk is ever applied twice.
 */
export async function claimChunk(session: SqlServerSession, schema: string, mark: ChunkMark) {
  try {
    await session.query(claimChunkSql(schema), [
      { name: 'executionId', type: 'nvarchar', value: mark.executionId },
      { name: 'chunkIndex', type: 'int', value: mark.chunkIndex },
      { name: 'workerId', type: 'nvarchar', value: mark.workerId },
    ]);
  } catch (error: unknown) {
    if (!DUPLICATE_KEY_NUMBERS.has((error as { number?: number }).number ?? 0)) throw error;
    throw new AppError(
      'CHUNK_ALREADY_COMMITTED',
      `chunk ${mark.chunkIndex} of execution ${mark.executionId} is already committed`,
    );
  }
}

export async function committedChunks(
  session: SqlServerSession,
  schema: string,
  executionId: string,
): Promise<Set<number>> {
  const rows = await session.query(
    `SELECT [chunk_index] FROM ${qualifiedName(schema, CHUNKS_TABLE)} WHERE [execution_id] = @executionId`,
    [{ name: 'executionId', type: 'nvarchar', value: executionId }],
  );
  return new Set(rows.map((row) => Number(row.chunk_index)));
}

/** With `forUpdate` the row stays locked until the transaction ends (UPDLOCK, HOLDLOCK). */
export function readCursorSql(schema: string, forUpdate: boolean): string {
  const hints = forUpdate ? ' WITH (UPDLOCK, HOLDLOCK)' : '';
  return `SELECT CONVERT(nvarchar(40), [cursor_xid]) AS [xid], CONVERT(nvarchar(20), [cursor_seq]) AS [seq]
FROM ${qualifiedName(schema, CURSORS_TABLE)}${hints}
WHERE [affiliate_id] = @affiliateId AND [table_name] = @tableName`;
}

export async function readCursor(
  session: SqlServerSession,
  schema: string,
  affiliateId: number,
  tableName: string,
  forUpdate = false,
): Promise<ChangeCursor | undefined> {
  const rows = await session.query(readCursorSql(schema, forUpdate), [
    { name: 'affiliateId', type: 'int', value: affiliateId },
    { name: 'tableName', type: 'nvarchar', value: tableName },
  ]);
  const row = rows[0];
  return row ? { xid: String(row.xid), seq: String(row.seq) } : undefined;
}

/** Cursor values travel as text and are converted on the server: 64-bit, never rounded. */
function cursorParameters(affiliateId: number, tableName: string, cursor: ChangeCursor) {
  return [
    { name: 'affiliateId', type: 'int' as const, value: affiliateId },
    { name: 'tableName', type: 'nvarchar' as const, value: tableName },
    { name: 'xid', type: 'nvarchar' as const, value: cursor.xid },
    { name: 'seq', type: 'nvarchar' as const, value: cursor.seq },
  ];
}

/** Starts a table's cursor; never moves an existing one (another writer may own it). */
export function insertCursorIfMissingSql(schema: string): string {
  const cursors = qualifiedName(schema, CURSORS_TABLE);
  return `IF NOT EXISTS (SELECT 1 FROM ${cursors} WITH (UPDLOCK, HOLDLOCK)
  WHERE [affiliate_id] = @affiliateId AND [table_name] = @tableName)
INSERT INTO ${cursors} ([affiliate_id], [table_name], [cursor_xid], [cursor_seq])
VALUES (@affiliateId, @tableName, CAST(@xid AS decimal(20,0)), CAST(@seq AS bigint))`;
}

export async function insertCursorIfMissing(
  session: SqlServerSession,
  schema: string,
  affiliateId: number,
  tableName: string,
  cursor: ChangeCursor,
) {
  await session.query(
    insertCursorIfMissingSql(schema),
    cursorParameters(affiliateId, tableName, cursor),
  );
}

/** Moves a cursor that exists and is locked by this transaction. */
export function writeCursorSql(schema: string): string {
  return `UPDATE ${qualifiedName(schema, CURSORS_TABLE)}
SET [cursor_xid] = CAST(@xid AS decimal(20,0)), [cursor_seq] = CAST(@seq AS bigint), [updated_at] = SYSDATETIMEOFFSET()
WHERE [affiliate_id] = @affiliateId AND [table_name] = @tableName`;
}

export async function writeCursor(
  session: SqlServerSession,
  schema: string,
  affiliateId: number,
  tableName: string,
  cursor: ChangeCursor,
) {
  await session.query(writeCursorSql(schema), cursorParameters(affiliateId, tableName, cursor));
}

/** The application lock's resource name: the same words as the PostgreSQL engine's lock. */
export function writeLockResource(schema: string, tableName: string, affiliateId: number): string {
  return `affiliate-mirror write ${schema}.${tableName} ${affiliateId}`;
}

/**
 * Takes an exclusive application lock owned by the transaction (released at commit or
 * rollback) and fails when it is not granted: sp_getapplock reports that by its return
 * value, not by an error, so the value is checked here.
 */
export const TAKE_APPLOCK_SQL = `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = N'Exclusive', @LockOwner = N'Transaction';
IF @result < 0
BEGIN
  DECLARE @message nvarchar(400) = CONCAT(N'the mirror lock "', @resource, N'" was not granted (sp_getapplock returned ', @result, N')');
  THROW ${APPLOCK_NOT_GRANTED}, @message, 1;
END`;

export async function takeApplock(session: SqlServerSession, resource: string): Promise<void> {
  await session.query(TAKE_APPLOCK_SQL, [{ name: 'resource', type: 'nvarchar', value: resource }]);
}

/**
 * Serialises writers of one affiliate's rows of one table in this schema until the
 * transaction ends. Two connectors of the same affiliate may point at the same database and
 * schema; without this they would collide on the primary key or deadlock on each other's rows.
 */
export async function lockAffiliateTable(
  session: SqlServerSession,
  schema: string,
  tableName: string,
  affiliateId: number,
): Promise<void> {
  await takeApplock(session, writeLockResource(schema, tableName, affiliateId));
}
