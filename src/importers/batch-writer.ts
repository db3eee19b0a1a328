import type pg from 'pg';

import { inTransaction } from '../sql/transactions.ts';

import { quoteIdentifier, quoteList } from '../sql/postgres-identifiers.ts';
import { asError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { allTables, type ColumnType, type MirrorTable } from '../mirror/tables.ts';

/**
 * Rows buffered per table before they are written in one transaction. In repeated runs of the
 * 100k-line TalkingData sample on a busy two-core machine, 10,000 was 15-30% faster than 5,000
 * (fewer statements and round trips); 20,000 and 50,000 gained nothing clear.
 */
export const DEFAULT_BATCH_ROWS = 10_000;

/**
 * What to do when a row's id is already stored for the affiliate.
 * - `update-if-changed`: overwrite it, but only when a value differs, so that a repeat import
 *   rewrites nothing (no new row versions, no bloat, `rowsChanged` stays 0).
 * - `keep-existing`: leave it alone. Meant for dimensions an importer can only name by
 *   placeholder (`App 12`): a real name stored by another source must win. The writer also
 *   drops ids it has already seen in this import, so such a table should have few distinct ids.
 */
export type ConflictRule = 'update-if-changed' | 'keep-existing';

/** One table an importer writes, and the columns it fills. */
export interface UpsertTarget {
  tableName: string;
  /** Columns in the order of each row's values, `id` first; the writer adds `affiliate_id`. */
  columns: string[];
  onConflict: ConflictRule;
}

export interface BatchWriterOptions {
  pool: pg.Pool;
  affiliateId: number;
  /** Written in this order within each batch. */
  targets: UpsertTarget[];
  logger: Logger;
  batchRows?: number;
}

// Rows travel as one array per column and are unpacked by unnest(): a statement has one
// parameter per column whatever the batch size, far below PostgreSQL's 65,535 limit, and the
// server parses and plans one short statement instead of thousands of VALUES tuples.
const arrayTypes: Record<ColumnType, string> = {
  text: 'text[]',
  integer: 'integer[]',
  bigint: 'bigint[]',
  timestamptz: 'timestamptz[]',
  money: 'numeric[]',
  boolean: 'boolean[]',
};

interface PreparedTarget {
  target: UpsertTarget;
  sql: string;
  buffer: unknown[][];
  /** Ids already buffered or written in this import; only kept for `keep-existing`. */
  seenIds: Set<string> | undefined;
}

/** One table's share of a batch. */
interface BatchPart {
  prepared: PreparedTarget;
  rows: unknown[][];
}

type Batch = BatchPart[];

function mirrorTable(name: string): MirrorTable {
  const table = allTables.find((candidate) => candidate.name === name);
  if (!table) throw new Error(`"${name}" is not a table of the mirror layout`);
  return table;
}

function conflictClause(target: UpsertTarget): string {
  const updated = target.columns.filter((column) => column !== 'id');
  if (target.onConflict === 'keep-existing' || updated.length === 0) return 'DO NOTHING';

  const assignments = updated
    .map((column) => `${quoteIdentifier(column)} = EXCLUDED.${quoteIdentifier(column)}`)
    .join(', ');
  const stored = quoteList(updated, 'existing.');
  const incoming = quoteList(updated, 'EXCLUDED.');
  return `DO UPDATE SET ${assignments} WHERE (${stored}) IS DISTINCT FROM (${incoming})`;
}

/** The upsert of one batch: `$1` is the affiliate id, `$2...` one array per column. */
export function upsertStatement(target: UpsertTarget): string {
  const table = mirrorTable(target.tableName);
  if (target.columns[0] !== 'id') throw new Error(`${table.name}: the first column must be id`);

  const arrays = target.columns.map((name, index) => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column) throw new Error(`${table.name} has no column "${name}"`);
    return `$${index + 2}::${arrayTypes[column.type]}`;
  });

  return [
    `INSERT INTO ${quoteIdentifier(table.name)} AS existing`,
    `(${quoteList(['affiliate_id', ...target.columns])})`,
    `SELECT $1::integer, * FROM unnest(${arrays.join(', ')})`,
    `ON CONFLICT (affiliate_id, id) ${conflictClause(target)}`,
  ].join(' ');
}

/** Removes NUL characters, which PostgreSQL refuses in text, and says how many there were. */
export function stripNulBytes(value: string): { text: string; removed: number } {
  if (!value.includes('\0')) return { text: value, removed: 0 };

  const text = value.replaceAll('\0', '');
  return { text, removed: value.length - text.length };
}

/**
 * Buffers an import's rows per table and writes them in batches, each batch in one
 * transaction, so that a committed batch holds every table's rows of the same lines.
 *
 * A failed import keeps the batches committed before the failure; because every row has a
 * stable id, importing the file again completes it without duplicates.
 */
export class BatchWriter {
  /** Rows accepted per table (after `keep-existing` dropped repeated ids). */
  readonly rowsImported: Record<string, number> = {};
  /** Rows inserted or changed per table. */
  readonly rowsChanged: Record<string, number> = {};
  nulBytesStripped = 0;

  private readonly options: BatchWriterOptions;
  private readonly batchRows: number;
  private readonly targets: Map<string, PreparedTarget>;
  private batches = 0;
  private inFlight: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(options: BatchWriterOptions) {
    this.options = options;
    this.batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    this.targets = new Map(options.targets.map((target) => [target.tableName, prepare(target)]));

    for (const target of options.targets) {
      this.rowsImported[target.tableName] = 0;
      this.rowsChanged[target.tableName] = 0;
    }
  }

  /** True once some table has a full batch: the caller should `await flush()` then. */
  get isFull(): boolean {
    for (const prepared of this.targets.values()) {
      if (prepared.buffer.length >= this.batchRows) return true;
    }
    return false;
  }

  /** Buffers one row; `values` follow the target's `columns`. */
  add(tableName: string, values: unknown[]): void {
    const prepared = this.targets.get(tableName);
    if (!prepared) throw new Error(`no upsert target for table "${tableName}"`);

    const row = values.map((value) => this.withoutNulBytes(value));
    const id = String(row[0]);
    if (prepared.seenIds?.has(id)) return;

    prepared.seenIds?.add(id);
    prepared.buffer.push(row);
    this.rowsImported[tableName] = (this.rowsImported[tableName] ?? 0) + 1;
  }

  /**
   * Starts writing the buffered rows as one batch and resolves once the batch before it is
   * committed, so that the caller parses the next lines while the database writes these ones
   * (on the sample file the database is the slower side). Batches still commit one after
   * the other, in file order.
   */
  async flush(): Promise<void> {
    await this.settle();

    const batch = this.takeBuffered();
    if (batch.length === 0) return;
    this.inFlight = this.writeBatch(batch).catch((error: unknown) => {
      this.failure = asError(error);
    });
  }

  /** Writes the rows left and waits until every batch is committed; throws a batch's error. */
  async finish(): Promise<void> {
    await this.flush();
    await this.settle();
  }

  /** Waits for a batch still being written and ignores its outcome, when the import failed. */
  async abandon(): Promise<void> {
    await this.inFlight;
  }

  private async settle(): Promise<void> {
    await this.inFlight;
    this.inFlight = undefined;
    if (this.failure !== undefined) throw this.failure;
  }

  private takeBuffered(): Batch {
    const batch: Batch = [];
    for (const prepared of this.targets.values()) {
      if (prepared.buffer.length > 0) batch.push({ prepared, rows: prepared.buffer });
      prepared.buffer = [];
    }
    return batch;
  }

  private async writeBatch(batch: Batch): Promise<void> {
    const started = performance.now();
    await inTransaction(this.options.pool, async (client) => {
      for (const part of batch) await this.write(client, part);
    });

    this.batches += 1;
    const rows = batch.reduce((sum, part) => sum + part.rows.length, 0);
    const durationMs = Math.round(performance.now() - started);
    this.options.logger.debug({ batch: this.batches, rows, durationMs }, 'batch written');
  }

  private async write(client: pg.PoolClient, { prepared, rows }: BatchPart): Promise<void> {
    const columnArrays = prepared.target.columns.map((_, index) => rows.map((row) => row[index]));

    const result = await client.query(prepared.sql, [this.options.affiliateId, ...columnArrays]);
    const table = prepared.target.tableName;
    this.rowsChanged[table] = (this.rowsChanged[table] ?? 0) + (result.rowCount ?? 0);
  }

  private withoutNulBytes(value: unknown): unknown {
    if (typeof value !== 'string') return value;

    const { text, removed } = stripNulBytes(value);
    this.nulBytesStripped += removed;
    return text;
  }
}

function prepare(target: UpsertTarget): PreparedTarget {
  const seenIds = target.onConflict === 'keep-existing' ? new Set<string>() : undefined;
  return { target, sql: upsertStatement(target), buffer: [], seenIds };
}
