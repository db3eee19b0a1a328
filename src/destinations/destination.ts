import type { Readable } from 'node:stream';

import type { MirrorTable } from '../mirror/tables.ts';
import type { Secret } from '../secret.ts';

export const engines = ['PostgresSQL', 'SqlServer'] as const;
export type Engine = (typeof engines)[number];

/** Where a connector writes. The password stays wrapped until a driver needs it. */
export interface ConnectionSettings {
  engine: Engine;
  host: string;
  port: number;
  database: string;
  schema: string;
  username: string;
  password: Secret;
  useSsl: boolean;
}

/**
 * A half-open range of event time, `from <= occurred_at < toExclusive`. Both ends are UTC
 * instants written as ISO 8601 with six fractional digits (`2017-11-07T00:00:00.000000Z`),
 * so no precision is lost between JavaScript and the databases.
 */
export interface TimeRange {
  from: string;
  toExclusive: string;
}

/**
 * Source rows on their way to a destination: PostgreSQL COPY text format (tab-separated,
 * `\N` for NULL, backslash escapes), columns in the order of the table's `columns`.
 */
export type CopyTextStream = Readable;

export interface ReplaceResult {
  rowsWritten: number;
  rowsDeleted: number;
}

export interface MergeResult {
  rowsWritten: number;
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * One connector's destination database. Every engine implements the same operations with the
 * same guarantees; engine-independent code only ever talks to this interface.
 */
export interface Destination {
  /** Opens a real connection and checks that tables can be created in the schema. */
  testConnection(): Promise<void>;

  /** Creates the schema and any missing mirror tables (and their indexes). */
  ensureTables(tables: MirrorTable[]): Promise<void>;

  /**
   * In one transaction: deletes the affiliate's rows of `table` in `range`, then loads `rows`.
   * Either all of it is visible afterwards or none of it.
   */
  replaceRange(
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
    rows: CopyTextStream,
  ): Promise<ReplaceResult>;

  /**
   * In one transaction: upserts every row of `rows` (all the affiliate's rows of a dimension)
   * and deletes the affiliate's mirror rows that are not among them.
   */
  mergeDimension(
    table: MirrorTable,
    affiliateId: number,
    rows: CopyTextStream,
  ): Promise<MergeResult>;

  close(): Promise<void>;
}
