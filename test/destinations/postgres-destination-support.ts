/**
 * Shared by the PostgreSQL destination test files: a test database per file, destinations
 * pointing at it, and COPY text input.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after } from 'node:test';

import type {
  ChunkMark,
  ConnectionSettings,
  Destination,
} from '../../src/destinations/destination.ts';
import { openDestination } from '../../src/destinations/open-destination.ts';
import { AppError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import type { MirrorTable } from '../../src/mirror/tables.ts';
import { Secret } from '../../src/secret.ts';
import { createTestDatabase } from '../support/databases.ts';

/**
 * Creates this file's database and returns an admin pool on it, settings for destinations
 * writing to it (as the server's superuser unless overridden) and `open`, whose destinations
 * are closed when the file's tests end.
 */
export async function destinationTestDatabase(label: string) {
  const database = await createTestDatabase(label);
  const opened: Destination[] = [];

  function settingsFor(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
    const url = new URL(database.url);
    return {
      engine: 'PostgresSQL',
      host: url.hostname,
      port: Number(url.port),
      database: database.name,
      schema: 'mirror',
      username: decodeURIComponent(url.username),
      password: new Secret(decodeURIComponent(url.password)),
      useSsl: false,
      ...overrides,
    };
  }

  function open(overrides: Partial<ConnectionSettings> = {}): Destination {
    const destination = openDestination(settingsFor(overrides), silentLogger());
    opened.push(destination);
    return destination;
  }

  after(async () => {
    await Promise.all(opened.map((destination) => destination.close()));
  });

  return { admin: database.pool, settingsFor, open };
}

/** One COPY text line; null becomes `\N`. */
export function line(values: Array<string | number | null>): string {
  return values.map((value) => (value === null ? '\\N' : String(value))).join('\t') + '\n';
}

/**
 * One COPY text line of `table`, columns in catalogue order: columns not named are NULL, and
 * `change_seq` is 1 unless given. Naming a column the table does not have, or leaving out
 * another NOT NULL column, fails the test instead of shifting every value by one.
 */
export function rowLine(
  table: MirrorTable,
  values: Record<string, string | number | null>,
): string {
  const names = table.columns.map((column) => column.name);
  for (const name of Object.keys(values)) {
    assert.ok(names.includes(name), `${table.name} has no column ${name}`);
  }
  const filled: Record<string, string | number | null> = { change_seq: 1, ...values };
  return line(
    table.columns.map((column) => {
      const value = filled[column.name] ?? null;
      assert.ok(column.nullable || value !== null, `${table.name}.${column.name} is NOT NULL`);
      return value;
    }),
  );
}

/**
 * A chunk of a new execution (index 0 unless overridden) whose source sent `sourceRowCount`
 * rows: usually the number of lines the test streams.
 */
export function chunkMark(
  sourceRowCount: number | Promise<number>,
  overrides: Partial<Omit<ChunkMark, 'sourceRowCount'>> = {},
): ChunkMark {
  return {
    executionId: randomUUID(),
    chunkIndex: 0,
    workerId: 'test-worker',
    sourceRowCount: Promise.resolve(sourceRowCount),
    ...overrides,
  };
}

export function rowsOf(lines: string[]): Readable {
  return Readable.from(lines);
}

/** Awaits `promise`, asserts it failed with an AppError of `code`, and returns that error. */
export async function assertFails(promise: Promise<unknown>, code: string): Promise<AppError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but it succeeded`),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}
