/**
 * ensureTables for SQL Server: compares what the schema holds with the catalogue, creates
 * what is missing, repairs what can be repaired without guessing (a dropped table, a dropped
 * nullable column or `change_seq`, a dropped primary key) and refuses the rest with
 * SCHEMA_DRIFT. The comparison is a pure function of the catalogue views' rows, so every rule
 * is tested without a server.
 */
import { SchemaDriftError, type DriftProblem } from '../schema-drift.ts';
import type { Column, MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName } from '../../sql/sqlserver-identifiers.ts';
import type { SchemaReport } from '../destination.ts';
import { bookkeepingTableSql, CHUNKS_TABLE, CURSORS_TABLE, takeApplock } from './bookkeeping.ts';
import type { ResultRow, SqlServerSession } from './connection.ts';
import {
  addColumnSql,
  addPrimaryKeySql,
  createIndexSql,
  createSchemaSql,
  createTableSql,
  declaredType,
  ID_COLLATION,
  SCHEMA_COLUMNS_SQL,
} from './ddl.ts';

/** Columns a row cannot be placed without: never added back, since old rows have no value. */
const UNREPAIRABLE_COLUMNS = new Set(['affiliate_id', 'id', 'occurred_at']);

/** One row of SCHEMA_COLUMNS_SQL. */
export interface FoundColumn {
  table_name: string;
  column_name: string;
  type_name: string;
  max_length: number;
  precision: number;
  scale: number;
  is_nullable: boolean;
  /** NULL for columns that hold no text. */
  collation_name: string | null;
  has_default: number;
  has_primary_key: number;
}

export interface SchemaPlan {
  createTables: MirrorTable[];
  addColumns: Array<{ table: MirrorTable; column: Column }>;
  addPrimaryKeys: MirrorTable[];
  /** Sentences for SCHEMA_DRIFT; the plan is not carried out when there is any. */
  problems: DriftProblem[];
}

/** A column's type as it would be written in DDL, from the catalogue views' numbers. */
export function describeFoundType(found: FoundColumn): string {
  const type = found.type_name;
  if (['nvarchar', 'nchar', 'varchar', 'char', 'varbinary', 'binary'].includes(type)) {
    if (found.max_length === -1) return `${type}(max)`;
    const units = type.startsWith('n') ? found.max_length / 2 : found.max_length;
    return `${type}(${units})`;
  }
  if (type === 'decimal' || type === 'numeric') return `${type}(${found.precision},${found.scale})`;
  if (['datetimeoffset', 'datetime2', 'time'].includes(type)) return `${type}(${found.scale})`;
  return type;
}

const REBUILD_ADVICE =
  'Drop the table to have the mirror recreate it and fill it again from the source, or change it back.';

/**
 * Binary collations (`_BIN`, `_BIN2`, and their `_UTF8` forms) compare code points, so ids
 * that differ in case or accents stay apart. (Trailing spaces are still ignored, as by every
 * SQL Server collation: see docs/mirror-tables.md.)
 */
function isBinaryCollation(collation: string | null): boolean {
  return collation !== null && /_BIN2?(_UTF8)?$/i.test(collation);
}

function columnProblems(schema: string, table: MirrorTable, found: FoundColumn[]): string[] {
  const where = `mirror table ${schema}.${table.name}`;
  const byName = new Map(found.map((column) => [column.column_name, column]));
  const problems: string[] = [];

  for (const column of table.columns) {
    const existing = byName.get(column.name);
    const expected = declaredType(column);
    if (!existing) {
      if (UNREPAIRABLE_COLUMNS.has(column.name)) {
        problems.push(
          `${where}: column ${column.name} is missing; expected ${expected} NOT NULL, a key the rows cannot be placed without. ${REBUILD_ADVICE}`,
        );
      }
      continue;
    }

    const actual = describeFoundType(existing);
    if (actual !== expected) {
      problems.push(
        `${where}: column ${column.name} is ${actual}; expected ${expected}. ${REBUILD_ADVICE}`,
      );
    } else if (column.name === 'id' && !isBinaryCollation(existing.collation_name)) {
      problems.push(
        `${where}: column id has the collation ${existing.collation_name ?? 'none'}, under which ids that differ only in case or accents (a1 and A1, two events at the source) are one key; expected ${ID_COLLATION}. ${REBUILD_ADVICE}`,
      );
    } else if (column.nullable && !existing.is_nullable && !existing.has_default) {
      problems.push(
        `${where}: column ${column.name} is NOT NULL; expected NULL allowed, since the source may have no value. Allow NULL in it again.`,
      );
    }
  }

  const names = new Set(table.columns.map((column) => column.name));
  for (const extra of found.filter((column) => !names.has(column.column_name))) {
    if (!extra.is_nullable && !extra.has_default) {
      problems.push(
        `${where}: column ${extra.column_name} (${describeFoundType(extra)} NOT NULL, no default) is not written by the mirror; expected it to allow NULL or have a default. Give it a default, allow NULL, or drop it.`,
      );
    }
  }
  return problems;
}

/** What ensureTables must do to make `found` (the schema's columns) match `tables`. */
export function planSchemaChanges(
  schema: string,
  tables: MirrorTable[],
  found: FoundColumn[],
): SchemaPlan {
  const plan: SchemaPlan = { createTables: [], addColumns: [], addPrimaryKeys: [], problems: [] };

  for (const table of tables) {
    const columns = found.filter((column) => column.table_name === table.name);
    if (columns.length === 0) {
      plan.createTables.push(table);
      continue;
    }

    const messages = columnProblems(schema, table, columns);
    plan.problems.push(...messages.map((message) => ({ table: table.name, message })));
    const present = new Set(columns.map((column) => column.column_name));
    for (const column of table.columns.filter((c) => !present.has(c.name))) {
      if (!UNREPAIRABLE_COLUMNS.has(column.name)) plan.addColumns.push({ table, column });
    }
    if (!columns[0]!.has_primary_key) plan.addPrimaryKeys.push(table);
  }
  return plan;
}

/** Makes a repaired table fill again: no cursor (the mirror starts over), every row older. */
export function backfillSql(schema: string, table: MirrorTable): string[] {
  return [
    `DELETE FROM ${qualifiedName(schema, CURSORS_TABLE)} WHERE [table_name] = @tableName`,
    `UPDATE ${qualifiedName(schema, table.name)} SET [change_seq] = 0 WHERE [change_seq] <> 0`,
  ];
}

function toFoundColumn(row: ResultRow): FoundColumn {
  return {
    table_name: String(row.table_name),
    column_name: String(row.column_name),
    type_name: String(row.type_name),
    max_length: Number(row.max_length),
    precision: Number(row.precision),
    scale: Number(row.scale),
    is_nullable: Boolean(row.is_nullable),
    collation_name: typeof row.collation_name === 'string' ? row.collation_name : null,
    has_default: Number(row.has_default),
    has_primary_key: Number(row.has_primary_key),
  };
}

/**
 * Creates the schema, the missing tables and the bookkeeping, repairs drift, and backfills
 * every created or repaired table, all in the caller's transaction and under a lock on the
 * schema's DDL, so two workers never create the same table at once.
 */
export async function ensureTables(
  session: SqlServerSession,
  schema: string,
  tables: MirrorTable[],
): Promise<SchemaReport> {
  const schemaParameter = [{ name: 'schema', type: 'nvarchar' as const, value: schema }];
  await takeApplock(session, `affiliate-mirror ddl ${schema}`);
  await session.query(createSchemaSql(schema), schemaParameter);

  const found = (await session.query(SCHEMA_COLUMNS_SQL, schemaParameter)).map(toFoundColumn);
  const plan = planSchemaChanges(schema, tables, found);
  if (plan.problems.length > 0) throw new SchemaDriftError(plan.problems);

  const existing = new Set(found.map((column) => column.table_name));
  for (const name of [CHUNKS_TABLE, CURSORS_TABLE]) {
    if (!existing.has(name)) await session.batch(bookkeepingTableSql(schema, name));
  }

  for (const table of plan.createTables) await session.batch(createTableSql(schema, table));
  for (const { table, column } of plan.addColumns) {
    await session.batch(addColumnSql(schema, table, column));
  }
  for (const table of plan.addPrimaryKeys) await session.batch(addPrimaryKeySql(schema, table));
  for (const table of tables) {
    const index = createIndexSql(schema, table);
    if (index) await session.batch(index);
  }

  const changed = new Set([
    ...plan.createTables,
    ...plan.addColumns.map(({ table }) => table),
    ...plan.addPrimaryKeys,
  ]);
  for (const table of changed) {
    for (const statement of backfillSql(schema, table)) {
      await session.query(statement, [{ name: 'tableName', type: 'nvarchar', value: table.name }]);
    }
  }

  return {
    created: plan.createTables.map((table) => table.name),
    addedColumns: plan.addColumns.map(({ table, column }) => `${table.name}.${column.name}`),
  };
}
