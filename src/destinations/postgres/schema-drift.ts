/**
 * Compares the mirror tables as a customer's PostgreSQL catalog has them with the layout the
 * mirror writes, and decides what to repair and what to refuse. One catalog query covers every
 * table of the schema: it runs before every sync step, every couple of seconds per connector.
 */
import type { PoolClient } from 'pg';

import type { ColumnType, MirrorTable } from '../../mirror/tables.ts';
import { qualifiedName, quoteIdentifier } from '../../sql/postgres-identifiers.ts';
import type { DriftProblem } from '../schema-drift.ts';
import { CHUNKS_TABLE, CURSORS_TABLE } from './bookkeeping.ts';

/** Each catalogue type as `format_type` spells the type the mirror creates for it. */
const catalogTypeNames: Record<ColumnType, string> = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  timestamptz: 'timestamp with time zone',
  money: 'numeric(19,4)',
  boolean: 'boolean',
};

const PRIMARY_KEY = ['affiliate_id', 'id'];

interface CatalogColumn {
  name: string;
  type: string;
  notNull: boolean;
  /** A default, an identity or a generated column: inserts that leave it out still work. */
  filled: boolean;
  /** The collation's name (`default` for the database's); null for a type without one. */
  collation: string | null;
  /** False for a nondeterministic collation, under which text of other bytes can be equal. */
  deterministic: boolean;
}

interface CatalogTable {
  /** `r` or `p` for a table; anything else (a view...) cannot hold the mirror. */
  kind: string;
  columns: CatalogColumn[];
  primaryKey: string[] | null;
  indexes: string[];
}

/** The name the mirror gives the event tables' index on `(affiliate_id, occurred_at)`. */
export function occurredAtIndexName(table: MirrorTable): string {
  return `${table.name}_affiliate_id_occurred_at_idx`;
}

/**
 * Every relation of `names` in the schema, with its columns, primary key and indexes.
 * `collisdeterministic` is read through `to_jsonb` because PostgreSQL 11 has no such column
 * (nor nondeterministic collations): there the column reads as deterministic.
 */
export async function readCatalog(
  client: PoolClient,
  schema: string,
  names: string[],
): Promise<Map<string, CatalogTable>> {
  const result = await client.query<CatalogTable & { name: string }>(
    `SELECT c.relname AS name, c.relkind::text AS kind,
            coalesce(json_agg(json_build_object(
                'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                'notNull', a.attnotnull, 'filled', a.atthasdef OR a.attidentity <> '',
                'collation', co.collname,
                'deterministic', coalesce((to_jsonb(co) ->> 'collisdeterministic')::boolean, true)
              ) ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL), '[]') AS columns,
            (SELECT array_agg(k.attname::text ORDER BY key.position)
               FROM pg_constraint p
              CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS key (attnum, position)
               JOIN pg_attribute k ON k.attrelid = p.conrelid AND k.attnum = key.attnum
              WHERE p.conrelid = c.oid AND p.contype = 'p') AS "primaryKey",
            ARRAY(SELECT i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   WHERE x.indrelid = c.oid) AS indexes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[])
      GROUP BY c.oid, c.relname, c.relkind`,
    [schema, names],
  );
  return new Map(result.rows.map((row) => [row.name, row]));
}

/** What `ensureTables` does to a schema, decided before any statement runs. */
export interface SchemaPlan {
  problems: DriftProblem[];
  createTables: MirrorTable[];
  addColumns: Array<{ table: MirrorTable; column: string }>;
  restorePrimaryKeys: MirrorTable[];
  createIndexes: MirrorTable[];
  createBookkeeping: boolean;
}

/** Compares the catalog with the layout: what is missing is planned, what differs is a problem. */
export function planSchema(
  schema: string,
  tables: MirrorTable[],
  catalog: Map<string, CatalogTable>,
): SchemaPlan {
  const plan: SchemaPlan = {
    problems: [],
    createTables: [],
    addColumns: [],
    restorePrimaryKeys: [],
    createIndexes: [],
    createBookkeeping: !catalog.has(CHUNKS_TABLE) || !catalog.has(CURSORS_TABLE),
  };

  for (const table of tables) {
    const found = catalog.get(table.name);
    if (!found) plan.createTables.push(table);
    else planTable(schema, table, found, plan);
  }
  return plan;
}

const DROP_TO_REBUILD = 'or drop the table to have it recreated and backfilled.';

type Report = (message: string) => void;

function planTable(schema: string, table: MirrorTable, found: CatalogTable, plan: SchemaPlan) {
  const where = `${schema}.${table.name}`;
  const problem: Report = (message) => plan.problems.push({ table: table.name, message });

  if (found.kind !== 'r' && found.kind !== 'p') {
    problem(
      `${where} is not a table (pg_class kind "${found.kind}"); drop it to have the mirror table created and backfilled.`,
    );
    return;
  }

  planMirrorColumns(schema, table, found, plan, problem);
  checkOwnColumns(where, table, found, problem);
  planPrimaryKey(where, table, found, plan, problem);

  if (table.kind === 'event' && !found.indexes.includes(occurredAtIndexName(table))) {
    plan.createIndexes.push(table);
  }
}

/**
 * A missing column that may be empty is added back; a key column, another type or a
 * nondeterministic collation cannot be.
 */
function planMirrorColumns(
  schema: string,
  table: MirrorTable,
  found: CatalogTable,
  plan: SchemaPlan,
  problem: Report,
) {
  const where = `${schema}.${table.name}`;
  const columns = new Map(found.columns.map((column) => [column.name, column]));

  for (const column of table.columns) {
    const present = columns.get(column.name);
    const needs = catalogTypeNames[column.type];

    if (!present && (column.nullable || column.name === 'change_seq')) {
      plan.addColumns.push({ table, column: column.name });
    } else if (!present) {
      problem(
        `${where} has no column ${column.name}, which the mirror needs as a key and cannot fill in for the existing rows: drop the table to have it recreated and backfilled.`,
      );
    } else if (present.type !== needs) {
      const alter = `ALTER TABLE ${qualifiedName(schema, table.name)} ALTER COLUMN ${quoteIdentifier(column.name)} TYPE ${needs}`;
      problem(
        `${where}.${column.name} is ${present.type}; the mirror needs ${needs}. Change it back with ${alter}, ${DROP_TO_REBUILD}`,
      );
    } else if (present.collation && !present.deterministic) {
      problem(nondeterministicCollation(schema, table, column.name, needs, present.collation));
    }
  }
}

/**
 * Under a nondeterministic collation, text of different bytes can be equal, and PostgreSQL
 * hashes it by the collation's sort key instead of its bytes: the digests a re-mirror compares
 * with the source's (sql/range-digest.ts) never match, even on equal rows, and ids that differ
 * only in case would be one key. Deterministic collations ("C", libc locales, deterministic ICU
 * ones) compare and hash by the bytes, and are fine.
 */
function nondeterministicCollation(
  schema: string,
  table: MirrorTable,
  column: string,
  type: string,
  collation: string,
): string {
  const alter = `ALTER TABLE ${qualifiedName(schema, table.name)} ALTER COLUMN ${quoteIdentifier(column)} TYPE ${type} COLLATE "default"`;
  return `${schema}.${table.name}.${column} has the nondeterministic collation ${quoteIdentifier(collation)}, under which text of different bytes can be equal, so the mirror cannot check its rows against the source's. Change it with ${alter} (or another deterministic collation, such as "C"), ${DROP_TO_REBUILD}`;
}

/** The customer's own columns are theirs, unless they make the mirror's inserts fail. */
function checkOwnColumns(where: string, table: MirrorTable, found: CatalogTable, problem: Report) {
  const known = new Set(table.columns.map((column) => column.name));

  for (const column of found.columns) {
    if (known.has(column.name) || !column.notNull || column.filled) continue;
    problem(
      `${where}.${column.name} is not a mirror column and is NOT NULL without a default, so the mirror cannot insert rows. Give it a default, make it nullable (ALTER COLUMN ${quoteIdentifier(column.name)} DROP NOT NULL) or drop it.`,
    );
  }
}

function planPrimaryKey(
  where: string,
  table: MirrorTable,
  found: CatalogTable,
  plan: SchemaPlan,
  problem: Report,
) {
  const key = found.primaryKey;
  if (!key) {
    plan.restorePrimaryKeys.push(table);
  } else if (key.join(',') !== PRIMARY_KEY.join(',')) {
    problem(
      `${where} has the primary key (${key.join(', ')}); the mirror needs (${PRIMARY_KEY.join(', ')}). Change it back ${DROP_TO_REBUILD}`,
    );
  }
}
