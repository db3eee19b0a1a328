import type { PoolClient } from 'pg';

import { AppError } from '../../errors.ts';
import type { ColumnType, MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier, quoteList } from '../../sql/postgres-identifiers.ts';
import { bookkeepingDdl, CHUNKS_TABLE, CURSORS_TABLE } from './bookkeeping.ts';

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

  const present = tables.filter((table) => existing.has(table.name));
  const added = await addMissingColumns(client, schema, present);
  await createMissingBookkeeping(client, schema, existing);
  return [...missing.map((table) => table.name), ...added];
}

async function createMissingBookkeeping(client: PoolClient, schema: string, existing: Set<string>) {
  if (existing.has(CHUNKS_TABLE) && existing.has(CURSORS_TABLE)) return;
  for (const statement of bookkeepingDdl(schema)) await client.query(statement);
}

/**
 * Columns added to the layout after a mirror table was created are added to it. A missing
 * NOT NULL column gets a default where one is meaningful (`change_seq` 0: older than any
 * change); a missing key column cannot be repaired and fails with the table and column named.
 */
async function addMissingColumns(client: PoolClient, schema: string, tables: MirrorTable[]) {
  const added: string[] = [];
  for (const table of tables) {
    const result = await client.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = $2`,
      [schema, table.name],
    );
    const present = new Set(result.rows.map((row) => row.name));

    for (const column of table.columns.filter((c) => !present.has(c.name))) {
      if (!column.nullable && column.name !== 'change_seq') {
        throw new AppError(
          'DESTINATION_FAILED',
          `mirror table ${schema}.${table.name} has no column ${column.name}; it cannot be added to existing rows. Drop the table to have it recreated and reloaded.`,
        );
      }
      const type = postgresTypes[column.type];
      const fill = column.nullable ? '' : ' NOT NULL DEFAULT 0';
      await client.query(
        `ALTER TABLE ${qualifiedName(schema, table.name)} ADD COLUMN ${quoteIdentifier(column.name)} ${type}${fill}`,
      );
      added.push(`${table.name}.${column.name}`);
    }
  }
  return added;
}
