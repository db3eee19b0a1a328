import type { PoolClient } from 'pg';

import type { ColumnType, MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';
import type { SchemaReport } from '../destination.ts';
import { SchemaDriftError } from '../schema-drift.ts';
import { bookkeepingDdl, CHUNKS_TABLE, CURSORS_TABLE } from './bookkeeping.ts';
import { occurredAtIndexName, planSchema, readCatalog } from './schema-drift.ts';

/**
 * How each catalogue type is stored. `timestamptz` keeps microseconds, as the source does;
 * `numeric(19,4)` holds money exactly, where a float would round cents.
 */
export const postgresTypes: Record<ColumnType, string> = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  timestamptz: 'timestamptz',
  money: 'numeric(19,4)',
  boolean: 'boolean',
};

/** The column list of a CREATE TABLE, without constraints. */
export function columnDefinitions(table: MirrorTable): string {
  return table.columns
    .map((column) => {
      const notNull = column.nullable ? '' : ' NOT NULL';
      return `${quoteIdentifier(column.name)} ${postgresTypes[column.type]}${notNull}`;
    })
    .join(', ');
}

export function createSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`;
}

export function createTableSql(schema: string, table: MirrorTable): string {
  const target = qualifiedName(schema, table.name);
  const primaryKey = `PRIMARY KEY (${quoteList(['affiliate_id', 'id'])})`;
  return `CREATE TABLE IF NOT EXISTS ${target} (${columnDefinitions(table)}, ${primaryKey})`;
}

/** Event tables are read, and replaced, by affiliate and time range. */
export function createIndexSql(schema: string, table: MirrorTable): string | undefined {
  if (table.kind !== 'event') return undefined;

  const index = quoteIdentifier(occurredAtIndexName(table));
  const target = qualifiedName(schema, table.name);
  const columns = quoteList(['affiliate_id', 'occurred_at']);
  return `CREATE INDEX IF NOT EXISTS ${index} ON ${target} (${columns})`;
}

/**
 * Serialises DDL on one schema across workers and processes until the transaction ends.
 * Without it, two workers creating the same table at once both pass IF NOT EXISTS and one
 * fails on a unique index of the system catalog.
 */
export async function lockSchemaForDdl(client: PoolClient, schema: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
    `affiliate-mirror ddl ${schema}`,
  ]);
}

export async function schemaExists(client: PoolClient, schema: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return result.rowCount === 1;
}

/**
 * Creates the schema when it is missing. Asked first rather than relying on IF NOT EXISTS,
 * because CREATE SCHEMA checks the database's CREATE privilege even when the schema exists,
 * and a customer may well give us a schema of our own but no right to make new ones.
 */
export async function ensureSchema(client: PoolClient, schema: string): Promise<boolean> {
  if (await schemaExists(client, schema)) return false;

  await client.query(createSchemaSql(schema));
  return true;
}

/** What `ensureMirrorTables` did, in more detail than the engine-neutral SchemaReport. */
export interface SchemaRepairs extends SchemaReport {
  /** Created tables the continuous mirror had synced before: someone dropped them. */
  recreated: string[];
  restoredPrimaryKeys: string[];
  restoredIndexes: string[];
}

const UNIQUE_VIOLATION = '23505';
const NOT_NULL_VIOLATION = '23502';

/**
 * Creates what is missing (schema, tables, columns, primary keys, indexes, the mirror's own
 * records) and marks every table that was created or given a column for a backfill, all in the
 * caller's transaction under the schema's DDL lock. What cannot be repaired fails with
 * SCHEMA_DRIFT before any statement changes anything. Tables that are as they should be are
 * only read, so a role that may merely write to tables someone else owns can still run this.
 */
export async function ensureMirrorTables(
  client: PoolClient,
  schema: string,
  tables: MirrorTable[],
): Promise<SchemaRepairs> {
  await lockSchemaForDdl(client, schema);
  await ensureSchema(client, schema);

  const names = [...tables.map((table) => table.name), CHUNKS_TABLE, CURSORS_TABLE];
  const plan = planSchema(schema, tables, await readCatalog(client, schema, names));
  if (plan.problems.length > 0) throw new SchemaDriftError(plan.problems);

  if (plan.createBookkeeping) {
    for (const statement of bookkeepingDdl(schema)) await client.query(statement);
  }
  const synced = await syncedTables(client, schema, plan.createTables);

  for (const table of plan.createTables) await client.query(createTableSql(schema, table));
  for (const { table, column } of plan.addColumns) await addColumn(client, schema, table, column);
  for (const table of plan.restorePrimaryKeys) await restorePrimaryKey(client, schema, table);
  for (const table of [...plan.createTables, ...plan.createIndexes]) {
    const index = createIndexSql(schema, table);
    if (index) await client.query(index);
  }

  const backfilled = new Set([
    ...plan.createTables,
    ...plan.addColumns.map((added) => added.table),
  ]);
  for (const table of backfilled) await markForBackfill(client, schema, table);

  return {
    created: plan.createTables.map((table) => table.name),
    addedColumns: plan.addColumns.map(({ table, column }) => `${table.name}.${column}`),
    recreated: plan.createTables.filter((table) => synced.has(table.name)).map((t) => t.name),
    restoredPrimaryKeys: plan.restorePrimaryKeys.map((table) => table.name),
    restoredIndexes: plan.createIndexes.map((table) => table.name),
  };
}

/** Which of `tables` the continuous mirror has a cursor for, in any affiliate. */
async function syncedTables(client: PoolClient, schema: string, tables: MirrorTable[]) {
  if (tables.length === 0) return new Set<string>();

  const result = await client.query<{ name: string }>(
    `SELECT DISTINCT table_name AS name FROM ${qualifiedName(schema, CURSORS_TABLE)}
      WHERE table_name = ANY($1::text[])`,
    [tables.map((table) => table.name)],
  );
  return new Set(result.rows.map((row) => row.name));
}

/**
 * A missing nullable column comes back empty, and `change_seq` as 0, older than any change;
 * the backfill then fills both in from the source.
 */
async function addColumn(client: PoolClient, schema: string, table: MirrorTable, name: string) {
  const column = table.columns.find((candidate) => candidate.name === name)!;
  const fill = column.nullable ? '' : ' NOT NULL DEFAULT 0';
  await client.query(
    `ALTER TABLE ${qualifiedName(schema, table.name)}
       ADD COLUMN ${quoteIdentifier(name)} ${postgresTypes[column.type]}${fill}`,
  );
}

/** Duplicate or empty keys mean rows the mirror never wrote: the customer has to choose. */
async function restorePrimaryKey(client: PoolClient, schema: string, table: MirrorTable) {
  try {
    await client.query(
      `ALTER TABLE ${qualifiedName(schema, table.name)}
         ADD PRIMARY KEY (${quoteList(['affiliate_id', 'id'])})`,
    );
  } catch (error: unknown) {
    const code = (error as { code?: string }).code;
    if (code !== UNIQUE_VIOLATION && code !== NOT_NULL_VIOLATION) throw error;

    const what =
      code === UNIQUE_VIOLATION
        ? 'rows with the same (affiliate_id, id)'
        : 'rows without affiliate_id or id';
    const message = `${schema}.${table.name} has no primary key and it cannot be restored: the table holds ${what}. Remove them, or drop the table to have it recreated and backfilled.`;
    throw new SchemaDriftError([{ table: table.name, message }], { cause: error });
  }
}

/**
 * The continuous mirror upserts only over older versions and starts a table without a cursor
 * from the first change: with the cursors gone and every row at change 0, its next steps
 * rewrite every row of the table from the source, for every affiliate.
 */
async function markForBackfill(client: PoolClient, schema: string, table: MirrorTable) {
  await client.query(`DELETE FROM ${qualifiedName(schema, CURSORS_TABLE)} WHERE table_name = $1`, [
    table.name,
  ]);
  await client.query(
    `UPDATE ${qualifiedName(schema, table.name)} SET change_seq = 0 WHERE change_seq <> 0`,
  );
}
