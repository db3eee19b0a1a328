import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';

import type { ChunkMark, Destination, TimeRange } from '../../src/destinations/destination.ts';
import { AppError } from '../../src/errors.ts';
import { dimensionTables, eventTables } from '../../src/mirror/tables.ts';
import {
  assertFails,
  chunkMark,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const clicks = eventTables.clicks;
const brands = dimensionTables.find((table) => table.name === 'brands')!;

const { admin, open } = await destinationTestDatabase('postgres_destination_chunks');

const schema = 'chunks';
const range: TimeRange = {
  from: '2017-11-07T00:00:00.000000Z',
  toExclusive: '2017-11-08T00:00:00.000000Z',
};

function click(id: string, occurredAt = '2017-11-07T12:00:00Z'): string {
  return rowLine(clicks, { affiliate_id: 7, id, occurred_at: occurredAt });
}

function brand(id: string, name: string): string {
  return rowLine(brands, { affiliate_id: 7, id, name });
}

async function stored(table: string): Promise<string[]> {
  const result = await admin.query<{ id: string }>(
    `SELECT id FROM ${schema}.${table} WHERE affiliate_id = 7 ORDER BY id`,
  );
  return result.rows.map((row) => row.id);
}

/** Replaces the test range of affiliate 7 with `ids` as the chunk `mark`. */
function replace(destination: Destination, ids: string[], mark: ChunkMark) {
  return destination.replaceRange(clicks, 7, range, rowsOf(ids.map((id) => click(id))), mark);
}

/** Rows that are only sent once `open` is called: the COPY waits for them meanwhile. */
function gated(lines: string[]): { rows: Readable; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  async function* source() {
    await opened;
    yield* lines;
  }
  return { rows: Readable.from(source()), open };
}

/** Resolves once a session of the test database waits for a lock held by another. */
async function someoneWaitsForALock(): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const waiting = await admin.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (waiting.rowCount) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('no session ever waited for the chunk claim');
}

describe('chunk claims', () => {
  let destination: Destination;

  before(async () => {
    destination = open({ schema });
    await destination.ensureTables([clicks, brands]);
  });

  it('refuses a chunk claimed twice and applies it once', async () => {
    const mark = chunkMark(2);
    await replace(destination, ['first-1', 'first-2'], mark);

    const again = { ...mark, sourceRowCount: Promise.resolve(1) };
    await assertFails(replace(destination, ['second'], again), 'CHUNK_ALREADY_COMMITTED');

    assert.deepEqual(await stored('clicks'), ['first-1', 'first-2']);
  });

  it('refuses a dimension chunk merged twice and keeps the first merge', async () => {
    const mark = chunkMark(1);
    await destination.mergeDimension(brands, 7, rowsOf([brand('b1', 'Alpha')]), mark);

    await assertFails(
      destination.mergeDimension(brands, 7, rowsOf([brand('b2', 'Beta')]), mark),
      'CHUNK_ALREADY_COMMITTED',
    );

    assert.deepEqual(await stored('brands'), ['b1']);
  });

  it('lets exactly one of two workers writing the same chunk at once succeed', async () => {
    const mark = chunkMark(2);
    const first = gated([click('one-1'), click('one-2')]);
    const second = gated([click('two-1'), click('two-2')]);

    // Whichever claims first waits for its rows; the other must then wait for the claim.
    const results = Promise.allSettled([
      destination.replaceRange(clicks, 7, range, first.rows, mark),
      open({ schema }).replaceRange(clicks, 7, range, second.rows, mark),
    ]);
    await someoneWaitsForALock();
    first.open();
    second.open();
    const outcomes = await results;

    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 1, 'exactly one of the two must be refused');
    const reason: unknown = refused[0]!.reason;
    assert.ok(reason instanceof AppError, String(reason));
    assert.equal(reason.code, 'CHUNK_ALREADY_COMMITTED');
    const winner = outcomes[0].status === 'fulfilled' ? 'one' : 'two';
    assert.deepEqual(await stored('clicks'), [`${winner}-1`, `${winner}-2`]);
  });
});

describe('reconciliation', () => {
  let destination: Destination;

  before(async () => {
    destination = open({ schema });
    await destination.ensureTables([clicks, brands]);
  });

  it('rolls back a range not holding the row count the source sent, keeping old rows', async () => {
    await replace(destination, ['old-1', 'old-2'], chunkMark(2));
    const mark = chunkMark(3);

    const error = await assertFails(
      replace(destination, ['new-1', 'new-2'], mark),
      'RECONCILIATION_FAILED',
    );

    assert.match(error.message, /the source sent 3 rows but the destination holds 2/);
    assert.deepEqual(await stored('clicks'), ['old-1', 'old-2']);
    assert.deepEqual(await destination.committedChunks(mark.executionId), new Set());
  });

  it('counts the range, so a row sent outside it is a mismatch', async () => {
    await replace(destination, ['old-1'], chunkMark(1));
    const lines = [click('inside'), click('next-day', '2017-11-08T00:00:00Z')];

    await assertFails(
      destination.replaceRange(clicks, 7, range, rowsOf(lines), chunkMark(lines.length)),
      'RECONCILIATION_FAILED',
    );

    assert.deepEqual(await stored('clicks'), ['old-1']);
  });

  it('rolls back a dimension merge whose row count differs and keeps the old rows', async () => {
    await destination.mergeDimension(brands, 7, rowsOf([brand('b1', 'Alpha')]), chunkMark(1));

    await assertFails(
      destination.mergeDimension(brands, 7, rowsOf([brand('b2', 'Beta')]), chunkMark(5)),
      'RECONCILIATION_FAILED',
    );

    const names = await admin.query(`SELECT id, name FROM ${schema}.brands WHERE affiliate_id = 7`);
    assert.deepEqual(names.rows, [{ id: 'b1', name: 'Alpha' }]);
  });

  it('lets a chunk that failed reconciliation be retried with the same mark', async () => {
    const mark = chunkMark(1);
    await assertFails(replace(destination, ['a', 'b'], mark), 'RECONCILIATION_FAILED');

    const result = await replace(destination, ['a'], mark);

    assert.equal(result.rowsInRange, 1);
    assert.deepEqual(await stored('clicks'), ['a']);
  });
});

describe('committedChunks', () => {
  it('lists the committed chunks of the execution and no others', async () => {
    const destination = open({ schema });
    await destination.ensureTables([clicks]);
    const executionId = randomUUID();
    const chunk = (chunkIndex: number, sent: number) =>
      chunkMark(sent, { executionId, chunkIndex });

    await replace(destination, ['c0'], chunk(0, 1));
    await replace(destination, ['c2'], chunk(2, 1));
    await assertFails(replace(destination, ['c1'], chunk(1, 9)), 'RECONCILIATION_FAILED');
    await replace(destination, ['other'], chunkMark(1, { chunkIndex: 3 }));

    assert.deepEqual(await destination.committedChunks(executionId), new Set([0, 2]));
    assert.deepEqual(await destination.committedChunks(randomUUID()), new Set());
  });
});
