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
  /** Rows of the affiliate in the range after the load, counted by the destination itself. */
  rowsInRange: number;
  /** Rows read from the source; when absent, every row of the range was read. */
  rowsRead?: number;
}

/** The digest of the rows of one hour of event time: their number and a hash of their values. */
export interface BucketDigest {
  rows: number;
  /** An opaque value; equal rows give equal hashes on every side that computes it the same way. */
  hash: string;
  /** The highest `change_seq` among the hour's rows (a 64-bit integer as decimal text). */
  maxChangeSeq: string;
}

/** An hour (or part of one) of a range, with the newest change the destination holds there. */
export interface RangeSince {
  range: TimeRange;
  /** Only rows written by a later change (`change_seq` greater than this) are wanted. */
  afterChangeSeq: string;
}

/** Rows read from the source, with their number once the stream has ended. */
export interface SourceRowStream {
  stream: CopyTextStream;
  rowCount: Promise<number>;
}

/**
 * One range of one event table at the source, read from a single snapshot: digests and rows
 * always describe the same data, however long the chunk takes. Calls run one at a time.
 */
export interface RangeSource {
  /** Digests per hour of event time (keys `2017-11-07T13:00:00.000000Z`), see sql/range-digest. */
  digests(): Promise<Map<string, BucketDigest>>;
  /** The rows of the range (COPY text, catalogue order), or only those in `ranges`. */
  rows(ranges?: TimeRange[]): Promise<SourceRowStream>;
  /**
   * The rows of each of `since`'s ranges written by a change after its `afterChangeSeq`: what
   * a destination that copied those hours when they ended at that change is missing.
   */
  rowsChangedSince(since: RangeSince[]): Promise<SourceRowStream>;
  /**
   * The rows of the range deleted by a change after `afterChangeSeq` (and deletions whose event
   * time is unknown), as COPY text of two columns, `id` and the deleting change's `change_seq`;
   * at most `limit` + 1 of them, so that a caller can tell when there were more than it wanted.
   */
  deletionsSince(afterChangeSeq: string, limit: number): Promise<SourceRowStream>;
}

/**
 * Identifies one chunk of one execution. The destination records it in the chunk's own
 * transaction and refuses it a second time (CHUNK_ALREADY_COMMITTED).
 */
export interface ChunkMark {
  executionId: string;
  chunkIndex: number;
  workerId: string;
  /**
   * Resolves with the number of rows the source sent once its stream has ended. The destination
   * compares it with what the range holds before committing (RECONCILIATION_FAILED otherwise).
   */
  sourceRowCount: Promise<number>;
}

/** A chunk to claim, without the source's count: syncRange counts with its digests. */
export type ChunkClaim = Omit<ChunkMark, 'sourceRowCount'>;

/**
 * A position in the platform store's change stream: changes are ordered by the writing
 * transaction's id, then by their sequence number. Both are 64-bit, kept as decimal strings.
 */
export interface ChangeCursor {
  xid: string;
  seq: string;
}

export const START_OF_CHANGES: ChangeCursor = { xid: '0', seq: '0' };

/** Changes of one table after `from` up to and including `to`. */
export interface ChangeBatch {
  /** The cursor the batch continues from; a destination whose cursor differs refuses it. */
  from: ChangeCursor;
  to: ChangeCursor;
  /** Current versions of changed rows, COPY text in catalogue order (with `change_seq`). */
  rows: CopyTextStream;
  /** Rows deleted at the source, with the change that deleted them. */
  deletions: Array<{ id: string; changeSeq: string }>;
}

export interface ApplyResult {
  rowsRead: number;
  /** Rows inserted or replaced by a newer version. */
  rowsWritten: number;
  rowsDeleted: number;
}

/**
 * What `ensureTables` found and did. A table in `created` (first use, or dropped by someone)
 * or in `addedColumns` is backfilled by the continuous mirror: in the same transaction as the
 * DDL its cursor is removed and its existing rows are marked older than any change
 * (`change_seq` 0), so the next sync step rewrites every row of it from the source.
 */
export interface SchemaReport {
  /** Mirror tables that did not exist and were created. */
  created: string[];
  /** Columns that were missing and were added, as `table.column`. */
  addedColumns: string[];
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

  /**
   * Creates the schema and any missing mirror tables (and their indexes), and repairs what a
   * customer changed: a dropped table is recreated, a dropped column added back, a dropped
   * primary key restored, each followed by a backfill (see SchemaReport). What cannot be
   * repaired without losing or guessing data fails with SCHEMA_DRIFT naming the table, the
   * column and what to do: a key column missing, a column of another type (or, on PostgreSQL,
   * of a nondeterministic collation), a NOT NULL column the mirror does not write. Nothing is
   * written to a table in that state.
   */
  ensureTables(tables: MirrorTable[]): Promise<SchemaReport>;

  /**
   * In one transaction: deletes the affiliate's rows of `table` in `range`, then loads `rows`.
   * Either all of it is visible afterwards or none of it.
   */
  replaceRange(
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
    rows: CopyTextStream,
    mark: ChunkMark,
  ): Promise<ReplaceResult>;

  /**
   * In one transaction: upserts every row of `rows` (all the affiliate's rows of a dimension)
   * and deletes the affiliate's mirror rows that are not among them.
   */
  mergeDimension(
    table: MirrorTable,
    affiliateId: number,
    rows: CopyTextStream,
    mark: ChunkMark,
  ): Promise<MergeResult>;

  /**
   * Like replaceRange, for engines that compute the same digests as the source: compares the
   * range hour by hour, reads and writes only the hours that differ, and checks before commit
   * that every hour's digest now equals the source's. Afterwards the range holds exactly the
   * source's rows, as after replaceRange. Engines without it get replaceRange.
   */
  syncRange?(
    table: MirrorTable,
    affiliateId: number,
    range: TimeRange,
    source: RangeSource,
    mark: ChunkClaim,
  ): Promise<ReplaceResult>;

  /** The chunks of an execution that are committed here, for resuming after a crash. */
  committedChunks(executionId: string): Promise<Set<number>>;

  /** How far the continuous mirror of this table has got; undefined before its first batch. */
  readCursor(table: MirrorTable, affiliateId: number): Promise<ChangeCursor | undefined>;

  /**
   * In one transaction: upserts `rows` where the mirror holds no row or an older version
   * (lower `change_seq`), deletes rows older than their deletion, and moves the cursor to
   * `batch.to`. Refuses the batch (SYNC_CURSOR_MOVED) when the cursor is not at `batch.from`.
   */
  applyChanges(table: MirrorTable, affiliateId: number, batch: ChangeBatch): Promise<ApplyResult>;

  close(): Promise<void>;
}
