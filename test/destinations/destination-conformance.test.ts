/**
 * What every destination engine guarantees, checked through the Destination interface only and
 * read back in one canonical form (engines-under-test.ts). PostgreSQL runs here always; SQL
 * Server runs when MSSQL_URL names a server and is skipped, saying why, when it does not.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import {
  START_OF_CHANGES,
  type ChangeBatch,
  type Destination,
  type SchemaReport,
} from '../../src/destinations/destination.ts';
import { openDestination } from '../../src/destinations/open-destination.ts';
import { silentLogger } from '../../src/logger.ts';
import { allTables, dimensionTables, eventTables } from '../../src/mirror/tables.ts';
import { enginesUnderTest, type SchemaUnderTest } from './engines-under-test.ts';
import { assertFails, chunkMark, rowLine, rowsOf } from './postgres-destination-support.ts';

const clicks = eventTables.clicks;
const conversions = eventTables.conversions;
const pageviews = eventTables.pageviews;
const brands = dimensionTables.find((table) => table.name === 'brands')!;

const DAY_1 = { from: '2017-11-07T00:00:00.000000Z', toExclusive: '2017-11-08T00:00:00.000000Z' };
const DAY_2 = { from: '2017-11-08T00:00:00.000000Z', toExclusive: '2017-11-09T00:00:00.000000Z' };

/** Escapes text for COPY text format, as PostgreSQL writes it. */
function copyText(value: string): string {
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
}

function click(affiliateId: number, id: string, occurredAt: string, extra = {}) {
  return rowLine(clicks, { affiliate_id: affiliateId, id, occurred_at: occurredAt, ...extra });
}

for (const engine of enginesUnderTest) {
  describe(`${engine.engine} destination`, { skip: engine.skipReason ?? false }, async () => {
    if (engine.skipReason) return;
    // Created here, not in before(): the database is dropped when this file's tests end.
    const schema: SchemaUnderTest = await engine.createSchema(`conformance_${engine.engine}`);
    const destination: Destination = openDestination(schema.settings, silentLogger());
    after(() => destination.close());

    let firstReport: SchemaReport;
    before(async () => {
      firstReport = await destination.ensureTables(allTables);
    });

    async function idsOf(affiliateId: number): Promise<string[]> {
      return (await schema.readRows(clicks, affiliateId)).map((row) => row[1]!);
    }

    it('ensureTables creates every table once: a second run creates and adds nothing', async () => {
      const report = await destination.ensureTables(allTables);

      assert.deepEqual(
        [...firstReport.created].sort(),
        allTables.map((table) => table.name).sort(),
      );
      assert.deepEqual(report, { created: [], addedColumns: [] });
    });

    it('replaceRange round-trips every value exactly, NULLs included', async () => {
      const awkward = 'tab\there, line\nbreak\r\n, back\\slash, \\N, é 日本 😀';
      const long = 'x😀'.repeat(50_000);
      const lines = [
        rowLine(conversions, {
          affiliate_id: 11,
          id: 'v1',
          occurred_at: '2017-11-07 01:02:03.123456+00',
          click_id: copyText(awkward),
          status: '',
          amount: '12345678901234.5678',
          currency: copyText(long),
          change_seq: '9007199254740993',
        }),
        rowLine(conversions, {
          affiliate_id: 11,
          id: 'v2',
          occurred_at: '2017-11-07T23:59:59.999999Z',
          amount: '-0.0001',
        }),
      ];

      const result = await destination.replaceRange(
        conversions,
        11,
        DAY_1,
        rowsOf(lines),
        chunkMark(2),
      );

      assert.deepEqual(result, { rowsDeleted: 0, rowsWritten: 2, rowsInRange: 2 });
      assert.deepEqual(await schema.readRows(conversions, 11), [
        [
          '11',
          'v1',
          '2017-11-07T01:02:03.123456Z',
          awkward,
          null,
          null,
          null,
          '',
          '12345678901234.5678',
          long,
          '9007199254740993',
        ],
        [
          '11',
          'v2',
          '2017-11-07T23:59:59.999999Z',
          null,
          null,
          null,
          null,
          null,
          '-0.0001',
          null,
          '1',
        ],
      ]);
    });

    it('replaceRange keeps integers and 64-bit numbers exact', async () => {
      const line = rowLine(pageviews, {
        affiliate_id: 12,
        id: 'p1',
        occurred_at: '2017-11-07T00:00:00.000001Z',
        status_code: 404,
        bytes: '9007199254740993',
      });

      await destination.replaceRange(pageviews, 12, DAY_1, rowsOf([line]), chunkMark(1));

      const [row] = await schema.readRows(pageviews, 12);
      assert.deepEqual(
        [row![2], row![6], row![7]],
        ['2017-11-07T00:00:00.000001Z', '404', '9007199254740993'],
      );
    });

    it('replaceRange replaces only its range and only its affiliate', async () => {
      await destination.replaceRange(
        clicks,
        21,
        DAY_1,
        rowsOf([click(21, 'a', '2017-11-07T01:00:00Z'), click(21, 'b', '2017-11-07T02:00:00Z')]),
        chunkMark(2),
      );
      await destination.replaceRange(
        clicks,
        21,
        DAY_2,
        rowsOf([click(21, 'c', '2017-11-08T00:00:00Z')]),
        chunkMark(1),
      );
      await destination.replaceRange(
        clicks,
        22,
        DAY_1,
        rowsOf([click(22, 'a', '2017-11-07T01:00:00Z')]),
        chunkMark(1),
      );

      const result = await destination.replaceRange(
        clicks,
        21,
        DAY_1,
        rowsOf([click(21, 'd', '2017-11-07T23:59:59.999999Z')]),
        chunkMark(1),
      );

      assert.deepEqual(result, { rowsDeleted: 2, rowsWritten: 1, rowsInRange: 1 });
      assert.deepEqual(await idsOf(21), ['c', 'd']);
      assert.deepEqual(await idsOf(22), ['a']);
    });

    it('replaceRange moves a row whose event time moved at the source', async () => {
      await destination.replaceRange(
        clicks,
        23,
        DAY_2,
        rowsOf([click(23, 'moved', '2017-11-08T05:00:00Z')]),
        chunkMark(1),
      );

      const result = await destination.replaceRange(
        clicks,
        23,
        DAY_1,
        rowsOf([click(23, 'moved', '2017-11-07T05:00:00Z')]),
        chunkMark(1),
      );

      assert.deepEqual(result, { rowsDeleted: 1, rowsWritten: 1, rowsInRange: 1 });
      const rows = await schema.readRows(clicks, 23);
      assert.deepEqual(
        rows.map((row) => [row[1], row[2]]),
        [['moved', '2017-11-07T05:00:00.000000Z']],
      );
    });

    it('refuses a chunk claimed twice with CHUNK_ALREADY_COMMITTED', async () => {
      const mark = chunkMark(1);
      await destination.replaceRange(
        clicks,
        24,
        DAY_1,
        rowsOf([click(24, 'once', '2017-11-07T01:00:00Z')]),
        mark,
      );

      await assertFails(
        destination.replaceRange(
          clicks,
          24,
          DAY_1,
          rowsOf([click(24, 'twice', '2017-11-07T01:00:00Z')]),
          mark,
        ),
        'CHUNK_ALREADY_COMMITTED',
      );
      assert.deepEqual(await idsOf(24), ['once']);
    });

    it('fails a count mismatch with RECONCILIATION_FAILED and commits nothing', async () => {
      await destination.replaceRange(
        clicks,
        25,
        DAY_1,
        rowsOf([click(25, 'old', '2017-11-07T01:00:00Z')]),
        chunkMark(1),
      );
      const mark = chunkMark(2);

      const error = await assertFails(
        destination.replaceRange(
          clicks,
          25,
          DAY_1,
          rowsOf([click(25, 'new', '2017-11-07T01:00:00Z')]),
          mark,
        ),
        'RECONCILIATION_FAILED',
      );

      assert.match(error.message, /the source sent 2 rows but the destination holds 1/);
      assert.deepEqual(await idsOf(25), ['old']);
      assert.deepEqual(await destination.committedChunks(mark.executionId), new Set());
    });

    it('mergeDimension counts inserts, updates (a change of case too) and deletes', async () => {
      const brand = (id: string, name: string, seq = 1) =>
        rowLine(brands, { affiliate_id: 31, id, name, change_seq: seq });
      await destination.mergeDimension(
        brands,
        31,
        rowsOf([brand('b1', 'Same'), brand('b2', 'Foo'), brand('b3', 'Gone')]),
        chunkMark(3),
      );

      const result = await destination.mergeDimension(
        brands,
        31,
        rowsOf([brand('b1', 'Same'), brand('b2', 'foo'), brand('b4', 'New')]),
        chunkMark(3),
      );

      assert.deepEqual(result, { rowsWritten: 3, inserted: 1, updated: 1, deleted: 1 });
      assert.deepEqual(await schema.readRows(brands, 31), [
        ['31', 'b1', 'Same', '1'],
        ['31', 'b2', 'foo', '1'],
        ['31', 'b4', 'New', '1'],
      ]);
    });

    it('applyChanges keeps the newer version, applies only newer deletions, moves the cursor', async () => {
      const first: ChangeBatch = {
        from: START_OF_CHANGES,
        to: { xid: '100', seq: '10' },
        rows: rowsOf([
          click(41, 'k1', '2017-11-07T01:00:00Z', { change_seq: 5, os: 'v5' }),
          click(41, 'k2', '2017-11-07T01:00:00Z', { change_seq: 7 }),
        ]),
        deletions: [],
      };
      assert.equal(await destination.readCursor(clicks, 41), undefined);
      await destination.applyChanges(clicks, 41, first);

      const second: ChangeBatch = {
        from: { xid: '100', seq: '10' },
        to: { xid: '18446744073709551615', seq: '9223372036854775807' },
        rows: rowsOf([
          click(41, 'k1', '2017-11-07T01:00:00Z', { change_seq: 3, os: 'stale' }),
          click(41, 'k3', '2017-11-07T01:00:00Z', { change_seq: 8 }),
        ]),
        deletions: [
          { id: 'k2', changeSeq: '6' },
          { id: 'k1', changeSeq: '9' },
        ],
      };
      const result = await destination.applyChanges(clicks, 41, second);

      assert.deepEqual(result, { rowsRead: 2, rowsWritten: 1, rowsDeleted: 1 });
      assert.deepEqual(await idsOf(41), ['k2', 'k3']);
      assert.deepEqual(await destination.readCursor(clicks, 41), second.to);
    });

    it('applyChanges refuses a batch that does not start at the cursor', async () => {
      await destination.applyChanges(clicks, 42, {
        from: START_OF_CHANGES,
        to: { xid: '5', seq: '1' },
        rows: rowsOf([]),
        deletions: [],
      });

      await assertFails(
        destination.applyChanges(clicks, 42, {
          from: START_OF_CHANGES,
          to: { xid: '6', seq: '1' },
          rows: rowsOf([click(42, 'late', '2017-11-07T01:00:00Z')]),
          deletions: [],
        }),
        'SYNC_CURSOR_MOVED',
      );
      assert.deepEqual(await idsOf(42), []);
      assert.deepEqual(await destination.readCursor(clicks, 42), { xid: '5', seq: '1' });
    });

    it('applyChanges applies 5,000 deletions in one batch', async () => {
      const ids = Array.from({ length: 5_000 }, (_, index) => `d${index}`);
      await destination.applyChanges(clicks, 43, {
        from: START_OF_CHANGES,
        to: { xid: '1', seq: '1' },
        rows: rowsOf(ids.map((id) => click(43, id, '2017-11-07T01:00:00Z'))),
        deletions: [],
      });

      const result = await destination.applyChanges(clicks, 43, {
        from: { xid: '1', seq: '1' },
        to: { xid: '2', seq: '1' },
        rows: rowsOf([]),
        deletions: ids.map((id) => ({ id, changeSeq: '2' })),
      });

      assert.equal(result.rowsDeleted, 5_000);
      assert.deepEqual(await idsOf(43), []);
    });

    it('committedChunks lists the committed chunks of an execution only', async () => {
      const executionId = randomUUID();
      for (const chunkIndex of [0, 2]) {
        await destination.replaceRange(
          clicks,
          51,
          chunkIndex === 0 ? DAY_1 : DAY_2,
          rowsOf([]),
          chunkMark(0, { executionId, chunkIndex }),
        );
      }

      assert.deepEqual(await destination.committedChunks(executionId), new Set([0, 2]));
      assert.deepEqual(await destination.committedChunks(randomUUID()), new Set());
    });
  });
}
