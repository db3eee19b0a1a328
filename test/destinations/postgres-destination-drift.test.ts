/**
 * Mirror tables a customer changed behind the mirror's back: what ensureTables repairs (and marks
 * for a backfill), and what it refuses with SCHEMA_DRIFT without changing anything.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  START_OF_CHANGES,
  type ChangeCursor,
  type Destination,
  type TimeRange,
} from '../../src/destinations/destination.ts';
import { SchemaDriftError } from '../../src/destinations/schema-drift.ts';
import { dimensionTables, eventTables } from '../../src/mirror/tables.ts';
import { upsertAffiliate } from '../../src/store/affiliates-store.ts';
import { SourceSnapshot } from '../../src/store/source-snapshot.ts';
import { createTestStore } from '../support/databases.ts';
import { postgresCanonicalRows } from './engines-under-test.ts';
import {
  assertFails,
  chunkMark,
  destinationTestDatabase,
  rowLine,
  rowsOf,
} from './postgres-destination-support.ts';

const clicks = eventTables.clicks;
const conversions = eventTables.conversions;
const brands = dimensionTables.find((table) => table.name === 'brands')!;
const tables = [clicks, conversions, brands];

const { admin, open } = await destinationTestDatabase('postgres_destination_drift');

/** Nondeterministic collations come only from ICU; a server built without it has none. */
const icuCollations = await admin.query<{ count: number }>(
  `SELECT count(*)::int AS count FROM pg_collation WHERE collprovider = 'i'`,
);
const icu = {
  skip: icuCollations.rows[0]!.count > 0 ? false : 'the server has no ICU (built without it)',
};

/** Case-insensitive ICU collations in `schema`: `ci` nondeterministic, `ci_ordered` not. */
function createCollationsSql(schema: string): string {
  const locale = `provider = icu, locale = 'und-u-ks-level2'`;
  return `CREATE COLLATION "${schema}".ci (${locale}, deterministic = false);
    CREATE COLLATION "${schema}".ci_ordered (${locale}, deterministic = true)`;
}

/**
 * The source of the reloads: affiliate 7's page views on one day, with ids and user agents
 * that differ only in case, which a case-insensitive collation would call equal.
 */
const store = await createTestStore('postgres_destination_drift_store');
const pageviews = eventTables.pageviews;
const day: TimeRange = {
  from: '2017-11-07T00:00:00.000000Z',
  toExclusive: '2017-11-08T00:00:00.000000Z',
};
await upsertAffiliate(store.pool, { id: 7, name: 'Affiliate 7', features: [] });
await store.pool.query(
  `INSERT INTO pageviews (affiliate_id, id, occurred_at, user_agent) VALUES
     (7, 'p1', '2017-11-07T01:00:00Z', 'Mozilla/5.0'), (7, 'P1', '2017-11-07T01:10:00Z', 'MOZILLA/5.0'),
     (7, 'p2', '2017-11-07T05:00:00Z', 'curl/8.5'), (7, 'p3', '2017-11-07T05:30:00Z', NULL)`,
);

/** Re-mirrors `day` of the source's page views by difference, as a reload does. */
async function reloadPageviews(destination: Destination) {
  const snapshot = await SourceSnapshot.open(store.pool, pageviews, 7, day);
  try {
    const claim = { executionId: randomUUID(), chunkIndex: 0, workerId: 'test-worker' };
    return await destination.syncRange!(pageviews, 7, day, snapshot, claim);
  } finally {
    await snapshot.close();
  }
}

const at = (xid: number, seq: number): ChangeCursor => ({ xid: String(xid), seq: String(seq) });

/**
 * A schema with the three tables, one click and one brand for affiliates 7 and 8 each, at
 * change 10 (affiliate 7) and 20 (affiliate 8), and cursors for every table of both.
 */
async function mirroredSchema(schema: string) {
  const destination = open({ schema });
  await destination.ensureTables(tables);

  for (const affiliateId of [7, 8]) {
    const seq = affiliateId === 7 ? 10 : 20;
    const batch = (lines: string[]) => ({
      from: START_OF_CHANGES,
      to: at(100, seq),
      rows: rowsOf(lines),
      deletions: [],
    });
    const click = { affiliate_id: affiliateId, id: 'c1', occurred_at: '2017-11-07T01:00:00Z' };
    const brand = { affiliate_id: affiliateId, id: 'b1', name: 'B' };
    await destination.applyChanges(
      clicks,
      affiliateId,
      batch([rowLine(clicks, { ...click, user_agent: 'ua', change_seq: seq })]),
    );
    await destination.applyChanges(
      brands,
      affiliateId,
      batch([rowLine(brands, { ...brand, change_seq: seq })]),
    );
    await destination.applyChanges(conversions, affiliateId, batch([]));
  }
  return destination;
}

async function cursorTables(schema: string): Promise<string[]> {
  const result = await admin.query<{ row: string }>(
    `SELECT table_name || ':' || affiliate_id AS row FROM "${schema}"._mirror_cursors ORDER BY 1`,
  );
  return result.rows.map((row) => row.row);
}

async function seqs(schema: string, table: string): Promise<string[]> {
  const result = await admin.query<{ row: string }>(
    `SELECT affiliate_id || ':' || id || ':' || change_seq AS row FROM "${schema}"."${table}" ORDER BY 1`,
  );
  return result.rows.map((row) => row.row);
}

async function tablesIn(schema: string): Promise<string[]> {
  const result = await admin.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`,
    [schema],
  );
  return result.rows.map((row) => row.tablename);
}

async function driftOf(promise: Promise<unknown>): Promise<SchemaDriftError> {
  const error = await assertFails(promise, 'SCHEMA_DRIFT');
  assert.ok(error instanceof SchemaDriftError);
  assert.equal(error.retryClass, 'permanent');
  return error;
}

describe('ensureTables after a customer changed the mirror tables', () => {
  it('recreates a dropped table and marks it for a backfill: its cursors go, the others stay', async () => {
    const destination = await mirroredSchema('dropped_table');
    await admin.query('DROP TABLE dropped_table.clicks');

    const report = await destination.ensureTables(tables);

    assert.deepEqual(report, { created: ['clicks'], addedColumns: [] });
    assert.deepEqual(await seqs('dropped_table', 'clicks'), []);
    assert.deepEqual(await cursorTables('dropped_table'), [
      'brands:7',
      'brands:8',
      'conversions:7',
      'conversions:8',
    ]);
    const index = await admin.query(
      `SELECT 1 FROM pg_indexes WHERE schemaname = 'dropped_table'
          AND indexname = 'clicks_affiliate_id_occurred_at_idx'`,
    );
    assert.equal(index.rowCount, 1);
  });

  it('adds a dropped column back and marks every row of its table as change 0, all affiliates', async () => {
    const destination = await mirroredSchema('dropped_column');
    await admin.query('ALTER TABLE dropped_column.clicks DROP COLUMN user_agent');

    const report = await destination.ensureTables(tables);

    assert.deepEqual(report, { created: [], addedColumns: ['clicks.user_agent'] });
    assert.deepEqual(await seqs('dropped_column', 'clicks'), ['7:c1:0', '8:c1:0']);
    assert.deepEqual(await seqs('dropped_column', 'brands'), ['7:b1:10', '8:b1:20']);
    assert.equal(await destination.readCursor(clicks, 7), undefined);
    assert.deepEqual(await destination.readCursor(brands, 8), at(100, 20));
  });

  it('lets the replayed changes rewrite the rows marked change 0, with the column filled in', async () => {
    const destination = await mirroredSchema('replayed');
    await admin.query('ALTER TABLE replayed.clicks DROP COLUMN user_agent');
    await destination.ensureTables(tables);
    const row = {
      affiliate_id: 7,
      id: 'c1',
      occurred_at: '2017-11-07T01:00:00Z',
      user_agent: 'ua',
    };

    await destination.applyChanges(clicks, 7, {
      from: START_OF_CHANGES,
      to: at(100, 10),
      rows: rowsOf([rowLine(clicks, { ...row, change_seq: 10 })]),
      deletions: [],
    });

    const stored = await admin.query(
      'SELECT affiliate_id, user_agent, change_seq::int AS seq FROM replayed.clicks ORDER BY 1',
    );
    assert.deepEqual(stored.rows, [
      { affiliate_id: 7, user_agent: 'ua', seq: 10 },
      { affiliate_id: 8, user_agent: null, seq: 0 },
    ]);
  });

  it('adds change_seq back as 0 when it was dropped', async () => {
    const destination = await mirroredSchema('dropped_seq');
    await admin.query('ALTER TABLE dropped_seq.brands DROP COLUMN change_seq');

    const report = await destination.ensureTables(tables);

    assert.deepEqual(report.addedColumns, ['brands.change_seq']);
    assert.deepEqual(await seqs('dropped_seq', 'brands'), ['7:b1:0', '8:b1:0']);
    assert.equal(await destination.readCursor(brands, 7), undefined);
  });

  it('restores a dropped primary key, and the occurred_at index, without a backfill', async () => {
    const destination = await mirroredSchema('dropped_key');
    await admin.query(`ALTER TABLE dropped_key.clicks DROP CONSTRAINT clicks_pkey;
      DROP INDEX dropped_key.clicks_affiliate_id_occurred_at_idx`);

    const report = await destination.ensureTables(tables);

    assert.deepEqual(report, { created: [], addedColumns: [] });
    const restored = await admin.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'dropped_key' AND tablename = 'clicks'
        ORDER BY 1`,
    );
    assert.deepEqual(
      restored.rows.map((row) => row.indexname),
      ['clicks_affiliate_id_occurred_at_idx', 'clicks_pkey'],
    );
    assert.deepEqual(await seqs('dropped_key', 'clicks'), ['7:c1:10', '8:c1:20']);
  });

  it('refuses to restore a primary key over duplicate rows, saying so', async () => {
    const destination = await mirroredSchema('duplicates');
    await admin.query(`ALTER TABLE duplicates.clicks DROP CONSTRAINT clicks_pkey;
      INSERT INTO duplicates.clicks SELECT * FROM duplicates.clicks WHERE affiliate_id = 7`);

    const error = await driftOf(destination.ensureTables(tables));

    assert.match(error.message, /duplicates\.clicks has no primary key/);
    assert.match(error.message, /rows with the same \(affiliate_id, id\)/);
    assert.deepEqual(error.tables, ['clicks']);
  });

  for (const [column, alteration, is, needs] of [
    ['conversions.amount', 'ALTER COLUMN amount TYPE integer', 'integer', 'numeric(19,4)'],
    [
      'conversions.occurred_at',
      'ALTER COLUMN occurred_at TYPE timestamp',
      'timestamp without time zone',
      'timestamp with time zone',
    ],
    [
      'conversions.currency',
      'ALTER COLUMN currency TYPE varchar(10)',
      'character varying(10)',
      'text',
    ],
  ] as const) {
    it(`refuses ${column} changed to ${is}, naming it, and changes nothing at all`, async () => {
      const schema = `retyped_${column.split('.')[1]}`;
      const destination = await mirroredSchema(schema);
      await admin.query(`ALTER TABLE "${schema}".conversions ${alteration};
        ALTER TABLE "${schema}".brands DROP COLUMN name; DROP TABLE "${schema}".clicks`);

      const error = await driftOf(destination.ensureTables(tables));

      assert.ok(
        error.message.startsWith(`${schema}.${column} is ${is}; the mirror needs ${needs}.`),
        error.message,
      );
      assert.match(
        error.message,
        /Change it back with ALTER TABLE .* or drop the table to have it recreated and backfilled\./,
      );
      assert.deepEqual(error.tables, ['conversions']);
      const left = await admin.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`,
        [schema],
      );
      assert.deepEqual(
        left.rows.map((row) => row.tablename),
        ['_mirror_chunks', '_mirror_cursors', 'brands', 'conversions'],
      );
      assert.equal((await destination.readCursor(brands, 7)) !== undefined, true);
    });
  }

  it('works again once the customer changed the type back', async () => {
    const destination = await mirroredSchema('changed_back');
    await admin.query('ALTER TABLE changed_back.conversions ALTER COLUMN amount TYPE integer');
    await driftOf(destination.ensureTables(tables));

    await admin.query(
      'ALTER TABLE changed_back.conversions ALTER COLUMN amount TYPE numeric(19,4)',
    );

    assert.deepEqual(await destination.ensureTables(tables), { created: [], addedColumns: [] });
  });

  // Regression: with user_agent under a nondeterministic collation, ensureTables accepted the
  // table and every later re-mirror failed RECONCILIATION_FAILED on identical bytes.
  for (const column of ['user_agent', 'id']) {
    it(`refuses clicks.${column} under a nondeterministic collation`, icu, async () => {
      const schema = `nondeterministic_${column}`;
      const destination = await mirroredSchema(schema);
      await admin.query(`${createCollationsSql(schema)};
        ALTER TABLE "${schema}".clicks ALTER COLUMN ${column} TYPE text COLLATE "${schema}".ci;
        ALTER TABLE "${schema}".brands DROP COLUMN name; DROP TABLE "${schema}".conversions`);

      const error = await driftOf(destination.ensureTables(tables));

      assert.ok(
        error.message.startsWith(
          `${schema}.clicks.${column} has the nondeterministic collation "ci", under which text of different bytes can be equal`,
        ),
        error.message,
      );
      assert.ok(
        error.message.includes(
          `Change it with ALTER TABLE "${schema}"."clicks" ALTER COLUMN "${column}" TYPE text COLLATE "default" (or another deterministic collation, such as "C"), or drop the table`,
        ),
        error.message,
      );
      assert.deepEqual(error.tables, ['clicks']);
      assert.deepEqual(await tablesIn(schema), [
        '_mirror_chunks',
        '_mirror_cursors',
        'brands',
        'clicks',
      ]);
      assert.deepEqual(await seqs(schema, 'clicks'), ['7:c1:10', '8:c1:20']);
      assert.deepEqual(await seqs(schema, 'brands'), ['7:b1:10', '8:b1:20']);
      assert.deepEqual(await destination.readCursor(clicks, 7), at(100, 10));
    });
  }

  it('works again after the ALTER TABLE that the refusal of a collation gives', icu, async () => {
    const destination = await mirroredSchema('collation_fixed');
    await admin.query(`${createCollationsSql('collation_fixed')};
      ALTER TABLE collation_fixed.clicks ALTER COLUMN user_agent TYPE text COLLATE collation_fixed.ci`);
    const error = await driftOf(destination.ensureTables(tables));

    await admin.query(
      /Change it with (ALTER TABLE .*? COLLATE "default")/.exec(error.message)![1]!,
    );

    assert.deepEqual(await destination.ensureTables(tables), { created: [], addedColumns: [] });
    assert.deepEqual(await seqs('collation_fixed', 'clicks'), ['7:c1:10', '8:c1:20']);
  });

  for (const { collation, schema, collate, options } of [
    { collation: '"C"', schema: 'collated_c', collate: '"C"', options: {} },
    {
      collation: 'a deterministic case-insensitive ICU collation',
      schema: 'collated_icu',
      collate: '"collated_icu".ci_ordered',
      options: icu,
    },
  ]) {
    it(`accepts ${collation} on id and user_agent; reloads then match`, options, async () => {
      const destination = open({ schema });
      await destination.ensureTables([pageviews]);
      if (collate !== '"C"') await admin.query(createCollationsSql(schema));
      await admin.query(`ALTER TABLE "${schema}".pageviews
        ALTER COLUMN id TYPE text COLLATE ${collate}, ALTER COLUMN user_agent TYPE text COLLATE ${collate}`);

      const report = await destination.ensureTables([pageviews]);
      const first = await reloadPageviews(destination);
      const again = await reloadPageviews(destination);

      assert.deepEqual(report, { created: [], addedColumns: [] });
      assert.equal(first.rowsWritten, 4);
      assert.deepEqual(again, { rowsWritten: 0, rowsDeleted: 0, rowsInRange: 4, rowsRead: 0 });
      assert.deepEqual(
        await postgresCanonicalRows(admin, `"${schema}".pageviews`, pageviews, 7, day),
        await postgresCanonicalRows(store.pool, 'pageviews', pageviews, 7, day),
      );
    });
  }

  it('refuses a NOT NULL column of its own without a default; inserts would fail', async () => {
    const destination = await mirroredSchema('extra_not_null');
    await admin.query(`ALTER TABLE extra_not_null.brands ADD COLUMN owner text;
      UPDATE extra_not_null.brands SET owner = 'me';
      ALTER TABLE extra_not_null.brands ALTER COLUMN owner SET NOT NULL`);

    const error = await driftOf(destination.ensureTables(tables));

    assert.match(
      error.message,
      /extra_not_null\.brands\.owner is not a mirror column and is NOT NULL without a default/,
    );
    assert.deepEqual(error.tables, ['brands']);
  });

  it('leaves columns of the customer alone when they are nullable or have a default', async () => {
    const destination = await mirroredSchema('extra_fine');
    await admin.query(`ALTER TABLE extra_fine.brands ADD COLUMN note text,
      ADD COLUMN tagged boolean NOT NULL DEFAULT false,
      ADD COLUMN serial_no bigint GENERATED ALWAYS AS IDENTITY`);

    const report = await destination.ensureTables(tables);
    await destination.applyChanges(brands, 7, {
      from: at(100, 10),
      to: at(100, 11),
      rows: rowsOf([rowLine(brands, { affiliate_id: 7, id: 'b2', name: 'N', change_seq: 11 })]),
      deletions: [],
    });

    assert.deepEqual(report, { created: [], addedColumns: [] });
    const stored = await admin.query(
      `SELECT id, note, tagged FROM extra_fine.brands WHERE affiliate_id = 7 ORDER BY id`,
    );
    assert.deepEqual(stored.rows, [
      { id: 'b1', note: null, tagged: false },
      { id: 'b2', note: null, tagged: false },
    ]);
  });

  it('refuses a view in the place of a mirror table', async () => {
    const destination = await mirroredSchema('viewed');
    await admin.query(`DROP TABLE viewed.brands;
      CREATE VIEW viewed.brands AS SELECT 7 AS affiliate_id, 'b1'::text AS id`);

    const error = await driftOf(destination.ensureTables(tables));

    assert.match(error.message, /viewed\.brands is not a table/);
  });

  it('recreates a dropped _mirror_cursors; every table then replays from the start', async () => {
    const destination = await mirroredSchema('dropped_cursors');
    await admin.query('DROP TABLE dropped_cursors._mirror_cursors');

    const report = await destination.ensureTables(tables);

    assert.deepEqual(report, { created: [], addedColumns: [] });
    assert.deepEqual(await cursorTables('dropped_cursors'), []);
    assert.deepEqual(await seqs('dropped_cursors', 'clicks'), ['7:c1:10', '8:c1:20']);
  });

  it('reloads a range exactly into a table whose other rows are marked change 0', async () => {
    const destination = await mirroredSchema('reload_after');
    await admin.query(`ALTER TABLE reload_after.clicks DROP COLUMN user_agent;
      INSERT INTO reload_after.clicks (affiliate_id, id, occurred_at, change_seq)
        VALUES (7, 'c2', '2017-11-09T01:00:00Z', 30)`);
    await destination.ensureTables(tables);
    const range = { from: '2017-11-07T00:00:00Z', toExclusive: '2017-11-08T00:00:00Z' };
    const row = {
      affiliate_id: 7,
      id: 'c1',
      occurred_at: '2017-11-07T01:00:00Z',
      user_agent: 'ua',
    };

    const result = await destination.replaceRange(
      clicks,
      7,
      range,
      rowsOf([rowLine(clicks, { ...row, change_seq: 10 })]),
      chunkMark(1),
    );

    assert.equal(result.rowsInRange, 1);
    const stored = await admin.query(
      `SELECT id, user_agent, change_seq::int AS seq FROM reload_after.clicks
        WHERE affiliate_id = 7 ORDER BY id`,
    );
    assert.deepEqual(stored.rows, [
      { id: 'c1', user_agent: 'ua', seq: 10 },
      { id: 'c2', user_agent: null, seq: 0 },
    ]);
  });
});
