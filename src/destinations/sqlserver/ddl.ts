/**
 * The mirror tables in SQL Server: how each catalogue type is stored, and the statements that
 * create the schema, the tables and their indexes. ensureTables (schema-drift.ts) uses them.
 */
import type { Column, ColumnType, MirrorTable } from '../../mirror/tables.ts';
import {
  qualifiedName,
  quoteIdentifier,
  quoteList,
  unicodeLiteral,
} from '../../sql/sqlserver-identifiers.ts';

/**
 * How each catalogue type is stored. `datetimeoffset(7)` keeps the source's microseconds and
 * the instant itself (`datetime` would round to 3.33 ms, `datetime2` would drop the zone);
 * `decimal(19,4)` holds money exactly, as PostgreSQL's numeric(19,4) does; text is nvarchar
 * (UTF-16), so every Unicode character survives whatever the database's code page is.
 */
export const sqlServerTypes: Record<ColumnType, string> = {
  text: 'nvarchar(max)',
  integer: 'int',
  bigint: 'bigint',
  timestamptz: 'datetimeoffset(7)',
  money: 'decimal(19,4)',
  boolean: 'bit',
};

/**
 * The key column `id` cannot be nvarchar(max) (index keys are limited to 900 bytes for a
 * clustered key). The events API refuses ids longer than 256 UTF-16 code units (MAX_ID_CHARS),
 * which is exactly what nvarchar(256) holds; importers' and the generator's ids are far shorter.
 */
export const ID_TYPE = 'nvarchar(256)';

/**
 * A binary collation for `id`: the database's default collation is usually case-insensitive,
 * which would make ids `a1` and `A1` (two rows at the source) collide on the primary key.
 */
export const ID_COLLATION = 'Latin1_General_100_BIN2';

export const KEY_COLUMNS = ['affiliate_id', 'id'];

/** The type a column is declared with, as the catalogue views show it (no collation). */
export function declaredType(column: Column): string {
  return column.name === 'id' ? ID_TYPE : sqlServerTypes[column.type];
}

function columnDefinition(column: Column): string {
  const collation = column.name === 'id' ? ` COLLATE ${ID_COLLATION}` : '';
  const nullability = column.nullable ? 'NULL' : 'NOT NULL';
  return `${quoteIdentifier(column.name)} ${declaredType(column)}${collation} ${nullability}`;
}

/** The column list of a CREATE TABLE, without constraints. */
export function columnDefinitions(table: MirrorTable): string {
  return table.columns.map(columnDefinition).join(', ');
}

/**
 * Creates the schema when it is missing. CREATE SCHEMA must be alone in its batch, hence
 * EXEC; asked first because a user given a schema of its own may lack the right to make one.
 */
export function createSchemaSql(schema: string): string {
  const create = unicodeLiteral(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
  return `IF SCHEMA_ID(@schema) IS NULL EXEC(${create})`;
}

export function primaryKeyName(table: MirrorTable): string {
  return quoteIdentifier(`${table.name}_pkey`);
}

export function createTableSql(schema: string, table: MirrorTable): string {
  const target = qualifiedName(schema, table.name);
  const primaryKey = `CONSTRAINT ${primaryKeyName(table)} PRIMARY KEY (${quoteList(KEY_COLUMNS)})`;
  return `CREATE TABLE ${target} (${columnDefinitions(table)}, ${primaryKey})`;
}

/** Restores a primary key a customer dropped; fails on the server if keys were duplicated. */
export function addPrimaryKeySql(schema: string, table: MirrorTable): string {
  return `ALTER TABLE ${qualifiedName(schema, table.name)} ADD CONSTRAINT ${primaryKeyName(table)} PRIMARY KEY (${quoteList(KEY_COLUMNS)})`;
}

/** Event tables are read, and replaced, by affiliate and time range; recreated when dropped. */
export function createIndexSql(schema: string, table: MirrorTable): string | undefined {
  if (table.kind !== 'event') return undefined;

  const name = `${table.name}_affiliate_id_occurred_at_idx`;
  const target = qualifiedName(schema, table.name);
  return `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE [object_id] = OBJECT_ID(${unicodeLiteral(target)}) AND [name] = ${unicodeLiteral(name)})
CREATE INDEX ${quoteIdentifier(name)} ON ${target} (${quoteList(['affiliate_id', 'occurred_at'])})`;
}

/**
 * Adds a column the table lacks. A NOT NULL column gets a default that is meaningful for the
 * rows already there: only `change_seq` may be missing that way, and 0 is older than any change.
 */
export function addColumnSql(schema: string, table: MirrorTable, column: Column): string {
  const target = qualifiedName(schema, table.name);
  const type = declaredType(column);
  if (column.nullable)
    return `ALTER TABLE ${target} ADD ${quoteIdentifier(column.name)} ${type} NULL`;

  const constraint = quoteIdentifier(`${table.name}_${column.name}_df`);
  return `ALTER TABLE ${target} ADD ${quoteIdentifier(column.name)} ${type} NOT NULL CONSTRAINT ${constraint} DEFAULT 0`;
}

/** Everything ensureTables needs to know about the tables of a schema, in one query. */
export const SCHEMA_COLUMNS_SQL = `SELECT o.[name] AS [table_name], c.[name] AS [column_name], t.[name] AS [type_name],
  c.[max_length], c.[precision], c.[scale], c.[is_nullable], c.[collation_name],
  CASE WHEN c.[default_object_id] <> 0 OR c.[is_identity] = 1 OR c.[is_computed] = 1 THEN 1 ELSE 0 END AS [has_default],
  OBJECTPROPERTY(o.[object_id], N'TableHasPrimaryKey') AS [has_primary_key]
FROM sys.tables AS o
JOIN sys.schemas AS s ON s.[schema_id] = o.[schema_id]
JOIN sys.columns AS c ON c.[object_id] = o.[object_id]
JOIN sys.types AS t ON t.[user_type_id] = c.[user_type_id]
WHERE s.[name] = @schema
ORDER BY o.[name], c.[column_id]`;
