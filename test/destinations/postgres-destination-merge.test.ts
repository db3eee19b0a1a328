import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import type { Destination } from '../../src/destinations/destination.ts';
import { dimensionTables, type MirrorTable } from '../../src/mirror/tables.ts';
import {
  chunkMark,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const brands = dimensionTables.find((table) => table.name === 'brands')!;
const programs = dimensionTables.find((table) => table.name === 'programs')!;

const { admin, open } = await destinationTestDatabase('postgres_destination_merge');

function brand(affiliateId: number, id: string, name: string | null): string {
  return rowLine(brands, { affiliate_id: affiliateId, id, name });
}

function program(affiliateId: number, id: string, name: string, brandId: string | null): string {
  return rowLine(programs, { affiliate_id: affiliateId, id, name, brand_id: brandId });
}

/** Merges `lines` as one chunk of its own, whose source sent exactly those lines. */
function merge(destination: Destination, table: MirrorTable, affiliateId: number, lines: string[]) {
  return destination.mergeDimension(table, affiliateId, rowsOf(lines), chunkMark(lines.length));
}

describe('mergeDimension', () => {
  const schema = 'merge_dimension';
  let destination: Destination;

  before(async () => {
    destination = open({ schema });
    await destination.ensureTables([brands, programs]);
  });

  it('reports inserted, updated and deleted rows, and 0/0/0 for an identical merge', async () => {
    const first = [brand(3, 'b1', 'Alpha'), brand(3, 'b2', 'Beta'), brand(3, 'b3', null)];
    assert.deepEqual(await merge(destination, brands, 3, first), {
      rowsWritten: 3,
      inserted: 3,
      updated: 0,
      deleted: 0,
    });

    await admin.query(`INSERT INTO ${schema}.brands VALUES (4, 'b1', 'Other affiliate', 1)`);
    const second = [brand(3, 'b1', 'Alpha'), brand(3, 'b2', 'Beta 2'), brand(3, 'b4', 'New')];
    assert.deepEqual(await merge(destination, brands, 3, second), {
      rowsWritten: 3,
      inserted: 1,
      updated: 1,
      deleted: 1,
    });

    assert.deepEqual(await merge(destination, brands, 3, second), {
      rowsWritten: 3,
      inserted: 0,
      updated: 0,
      deleted: 0,
    });

    const stored = await admin.query(
      `SELECT affiliate_id, id, name FROM ${schema}.brands ORDER BY affiliate_id, id`,
    );
    assert.deepEqual(stored.rows, [
      { affiliate_id: 3, id: 'b1', name: 'Alpha' },
      { affiliate_id: 3, id: 'b2', name: 'Beta 2' },
      { affiliate_id: 3, id: 'b4', name: 'New' },
      { affiliate_id: 4, id: 'b1', name: 'Other affiliate' },
    ]);
  });

  it('counts a change from a value to NULL as an update', async () => {
    await merge(destination, programs, 5, [program(5, 'p1', 'Prog', 'b1')]);

    const result = await merge(destination, programs, 5, [program(5, 'p1', 'Prog', null)]);

    assert.deepEqual(result, { rowsWritten: 1, inserted: 0, updated: 1, deleted: 0 });
  });

  it('lets two merges of the same table run at once without deadlocking', async () => {
    const lines = (affiliate: number) =>
      Array.from({ length: 200 }, (_, i) => brand(affiliate, `b${i}`, `Brand ${i}`));

    const results = await Promise.all([
      merge(destination, brands, 10, lines(10)),
      merge(open({ schema }), brands, 11, lines(11)),
    ]);

    assert.deepEqual(
      results.map((result) => result.inserted),
      [200, 200],
    );
  });
});
