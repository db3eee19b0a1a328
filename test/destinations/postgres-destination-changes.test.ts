import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';

import {
  START_OF_CHANGES,
  type ChangeBatch,
  type ChangeCursor,
  type Destination,
} from '../../src/destinations/destination.ts';
import { dimensionTables, eventTables } from '../../src/mirror/tables.ts';
import {
  assertFails,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const brands = dimensionTables.find((table) => table.name === 'brands')!;
const clicks = eventTables.clicks;

const { admin, open } = await destinationTestDatabase('postgres_destination_changes');

const schema = 'changes';

function brand(id: string, name: string, changeSeq: number, affiliateId = 7): string {
  return rowLine(brands, { affiliate_id: affiliateId, id, name, change_seq: changeSeq });
}

function at(xid: number | string, seq: number | string): ChangeCursor {
  return { xid: String(xid), seq: String(seq) };
}

function batch(
  from: ChangeCursor,
  to: ChangeCursor,
  lines: string[],
  deletions: ChangeBatch['deletions'] = [],
): ChangeBatch {
  return { from, to, rows: rowsOf(lines), deletions };
}

async function storedBrands(): Promise<Array<{ id: string; name: string; seq: string }>> {
  const result = await admin.query<{ id: string; name: string; seq: string }>(
    `SELECT id, name, change_seq::text AS seq FROM ${schema}.brands
      WHERE affiliate_id = 7 ORDER BY id`,
  );
  return result.rows;
}

describe('applyChanges', () => {
  let destination: Destination;

  before(async () => {
    destination = open({ schema });
    await destination.ensureTables([brands, clicks]);
  });

  beforeEach(async () => {
    await admin.query(`TRUNCATE ${schema}.brands, ${schema}._mirror_cursors`);
  });

  it('inserts new rows and moves the cursor to the end of the batch', async () => {
    assert.equal(await destination.readCursor(brands, 7), undefined);

    const result = await destination.applyChanges(
      brands,
      7,
      batch(START_OF_CHANGES, at(100, 2), [brand('b1', 'Alpha', 10), brand('b2', 'Beta', 11)]),
    );

    assert.deepEqual(result, { rowsRead: 2, rowsWritten: 2, rowsDeleted: 0 });
    assert.deepEqual(await storedBrands(), [
      { id: 'b1', name: 'Alpha', seq: '10' },
      { id: 'b2', name: 'Beta', seq: '11' },
    ]);
    assert.deepEqual(await destination.readCursor(brands, 7), at(100, 2));
  });

  it('replaces a row only with a newer version; an older one coming late is ignored', async () => {
    const seeded = [brand('b1', 'Alpha', 10), brand('b2', 'Beta', 11), brand('b3', 'Gamma', 12)];
    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, at(100, 3), seeded));

    const result = await destination.applyChanges(
      brands,
      7,
      batch(at(100, 3), at(101, 3), [
        brand('b1', 'Alpha newer', 20),
        brand('b2', 'Beta older', 5),
        brand('b3', 'Gamma same seq', 12),
      ]),
    );

    assert.deepEqual(result, { rowsRead: 3, rowsWritten: 1, rowsDeleted: 0 });
    assert.deepEqual(await storedBrands(), [
      { id: 'b1', name: 'Alpha newer', seq: '20' },
      { id: 'b2', name: 'Beta', seq: '11' },
      { id: 'b3', name: 'Gamma', seq: '12' },
    ]);
  });

  it('deletes only the rows older than their deletion', async () => {
    const seeded = [brand('b1', 'Alpha', 10), brand('b2', 'Beta', 20)];
    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, at(100, 2), seeded));

    const result = await destination.applyChanges(
      brands,
      7,
      batch(
        at(100, 2),
        at(102, 1),
        [],
        [
          { id: 'b1', changeSeq: '15' },
          { id: 'b2', changeSeq: '15' },
          { id: 'never-mirrored', changeSeq: '15' },
        ],
      ),
    );

    assert.deepEqual(result, { rowsRead: 0, rowsWritten: 0, rowsDeleted: 1 });
    assert.deepEqual(await storedBrands(), [{ id: 'b2', name: 'Beta', seq: '20' }]);
    assert.deepEqual(await destination.readCursor(brands, 7), at(102, 1));
  });

  it('refuses a batch that does not start at the cursor and changes nothing', async () => {
    await destination.applyChanges(
      brands,
      7,
      batch(START_OF_CHANGES, at(100, 1), [brand('b1', 'Alpha', 10)]),
    );
    await destination.applyChanges(brands, 7, batch(at(100, 1), at(101, 1), []));

    const error = await assertFails(
      destination.applyChanges(
        brands,
        7,
        batch(
          at(100, 1),
          at(103, 1),
          [brand('b1', 'Stale', 30), brand('b9', 'New', 31)],
          [{ id: 'b1', changeSeq: '40' }],
        ),
      ),
      'SYNC_CURSOR_MOVED',
    );

    assert.match(error.message, /brands cursor/);
    assert.deepEqual(await storedBrands(), [{ id: 'b1', name: 'Alpha', seq: '10' }]);
    assert.deepEqual(await destination.readCursor(brands, 7), at(101, 1));
  });

  it('refuses a batch from further on when the cursor is gone (reset for a backfill meanwhile)', async () => {
    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, at(100, 1), []));
    await admin.query(`DELETE FROM ${schema}._mirror_cursors`);

    await assertFails(
      destination.applyChanges(brands, 7, batch(at(100, 1), at(101, 1), [brand('b1', 'A', 10)])),
      'SYNC_CURSOR_MOVED',
    );

    assert.deepEqual(await storedBrands(), []);
    assert.equal(await destination.readCursor(brands, 7), undefined);
    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, at(1, 1), []));
    assert.deepEqual(await destination.readCursor(brands, 7), at(1, 1));
  });

  it('keeps one cursor per affiliate and table', async () => {
    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, at(100, 1), []));
    await destination.applyChanges(brands, 8, batch(START_OF_CHANGES, at(200, 1), []));
    await destination.applyChanges(clicks, 7, batch(START_OF_CHANGES, at(300, 1), []));

    assert.deepEqual(await destination.readCursor(brands, 7), at(100, 1));
    assert.deepEqual(await destination.readCursor(brands, 8), at(200, 1));
    assert.deepEqual(await destination.readCursor(clicks, 7), at(300, 1));
    assert.equal(await destination.readCursor(clicks, 8), undefined);
  });

  it('keeps 64-bit cursor positions exactly', async () => {
    const far = at('18446744073709551615', '9223372036854775807');

    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, far, []));

    assert.deepEqual(await destination.readCursor(brands, 7), far);
  });

  it('lets only one of two writers apply the same batch at once', async () => {
    await destination.applyChanges(brands, 7, batch(START_OF_CHANGES, at(100, 1), []));
    const same = () => batch(at(100, 1), at(101, 1), [brand('b1', 'Alpha', 10)]);

    const outcomes = await Promise.allSettled([
      destination.applyChanges(brands, 7, same()),
      open({ schema }).applyChanges(brands, 7, same()),
    ]);

    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 1, 'exactly one of the two must be refused');
    assert.equal((refused[0]!.reason as { code?: string }).code, 'SYNC_CURSOR_MOVED');
    assert.deepEqual(await destination.readCursor(brands, 7), at(101, 1));
  });
});
