import type { PoolClient } from 'pg';

import type { ColumnType, MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';

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

  const index = quoteIdentifier(`${table.name}_affiliate_id_occurred_at_idx`);
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

async function existingTables(client: PoolClient, schema: string): Promise<Set<string>> {
  const result = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [schema],
  );
  return new Set(result.rows.map((row) => row.name));
}

/**
 * Creates the tables of `tables` that do not exist yet, with their indexes, and returns their
 * names. Existing tables are left alone, so a role that may only write to tables someone else
 * created (and owns) can still run this. Call inside a transaction.
 */
export async function createMissingTables(
  client: PoolClient,
  schema: string,
  tables: MirrorTable[],
): Promise<string[]> {
  await lockSchemaForDdl(client, schema);
  await ensureSchema(client, schema);

  const existing = await existingTables(client, schema);
  const missing = tables.filter((table) => !existing.has(table.name));

  for (const table of missing) {
    await client.query(createTableSql(schema, table));

    const index = createIndexSql(schema, table);
    if (index) await client.query(index);
  }
  return missing.map((table) => table.name);
}
