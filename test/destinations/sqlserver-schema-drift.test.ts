/**
 * The SQL Server engine's schema-drift rules, on catalogue rows as sys.columns would return
 * them: what ensureTables creates, adds back, restores, and refuses with SCHEMA_DRIFT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  describeFoundType,
  planSchemaChanges,
  type FoundColumn,
} from '../../src/destinations/sqlserver/schema-drift.ts';
import { dimensionTables, eventTables, type MirrorTable } from '../../src/mirror/tables.ts';

const brands = dimensionTables.find((table) => table.name === 'brands')!;
const clicks = eventTables.clicks;

/** What SQL Server reports for a table created by the mirror, with `changes` applied. */
function catalogueOf(
  table: MirrorTable,
  changes: { drop?: string[]; set?: Record<string, Partial<FoundColumn>>; noKey?: boolean } = {},
): FoundColumn[] {
  const sizes: Record<string, Partial<FoundColumn>> = {
    integer: { type_name: 'int', max_length: 4 },
    bigint: { type_name: 'bigint', max_length: 8 },
    timestamptz: { type_name: 'datetimeoffset', max_length: 10, scale: 7 },
    money: { type_name: 'decimal', max_length: 9, precision: 19, scale: 4 },
    text: { type_name: 'nvarchar', max_length: -1 },
  };
  return table.columns
    .filter((column) => !changes.drop?.includes(column.name))
    .map((column) => ({
      table_name: table.name,
      column_name: column.name,
      type_name: '',
      max_length: 0,
      precision: 0,
      scale: 0,
      is_nullable: column.nullable,
      collation_name: column.type === 'text' ? 'SQL_Latin1_General_CP1_CI_AS' : null,
      has_default: 0,
      has_primary_key: changes.noKey ? 0 : 1,
      ...sizes[column.type],
      ...(column.name === 'id'
        ? { max_length: 512, collation_name: 'Latin1_General_100_BIN2' }
        : {}),
      ...changes.set?.[column.name],
    }));
}

describe('planSchemaChanges (SQL Server)', () => {
  it('changes nothing on tables as the mirror made them', () => {
    const plan = planSchemaChanges(
      'mirror',
      [clicks, brands],
      [...catalogueOf(clicks), ...catalogueOf(brands)],
    );

    assert.deepEqual(plan, { createTables: [], addColumns: [], addPrimaryKeys: [], problems: [] });
  });

  it('creates a table that is missing (first use, or dropped by someone)', () => {
    const plan = planSchemaChanges('mirror', [clicks, brands], catalogueOf(brands));

    assert.deepEqual(
      plan.createTables.map((table) => table.name),
      ['clicks'],
    );
  });

  it('adds back a dropped nullable column and a dropped change_seq', () => {
    const plan = planSchemaChanges(
      'mirror',
      [clicks],
      catalogueOf(clicks, { drop: ['os', 'change_seq'] }),
    );

    assert.deepEqual(
      plan.addColumns.map(({ table, column }) => `${table.name}.${column.name}`),
      ['clicks.os', 'clicks.change_seq'],
    );
    assert.deepEqual(
      plan.problems.map((problem) => problem.message),
      [],
    );
  });

  it('restores a dropped primary key', () => {
    const plan = planSchemaChanges('mirror', [brands], catalogueOf(brands, { noKey: true }));

    assert.deepEqual(
      plan.addPrimaryKeys.map((table) => table.name),
      ['brands'],
    );
  });

  it('refuses a missing key column, naming schema, table, column, expectation and remedy', () => {
    const plan = planSchemaChanges(
      'mirror',
      [clicks],
      catalogueOf(clicks, { drop: ['occurred_at'] }),
    );

    assert.deepEqual(
      plan.problems.map((problem) => problem.message),
      [
        'mirror table mirror.clicks: column occurred_at is missing; expected datetimeoffset(7) NOT NULL, a key the rows cannot be placed without. Drop the table to have the mirror recreate it and fill it again from the source, or change it back.',
      ],
    );
  });

  it('refuses a column of another type, saying what was found and what is expected', () => {
    const found = catalogueOf(clicks, {
      set: {
        occurred_at: { type_name: 'datetime2', max_length: 8, scale: 7 },
        id: { max_length: 200 },
      },
    });

    const plan = planSchemaChanges('mirror', [clicks], found);

    assert.equal(plan.problems.length, 2);
    assert.match(
      plan.problems[0]!.message,
      /mirror.clicks: column id is nvarchar\(100\); expected nvarchar\(256\)/,
    );
    assert.match(
      plan.problems[1]!.message,
      /column occurred_at is datetime2\(7\); expected datetimeoffset\(7\)/,
    );
  });

  it('refuses an id under a collation that is not binary: a1 and A1 would be one key', () => {
    for (const collation of ['SQL_Latin1_General_CP1_CI_AS', 'Latin1_General_100_CS_AS']) {
      const found = catalogueOf(clicks, { set: { id: { collation_name: collation } } });

      const plan = planSchemaChanges('mirror', [clicks], found);

      assert.equal(plan.problems.length, 1, collation);
      assert.match(
        plan.problems[0]!.message,
        new RegExp(
          `mirror.clicks: column id has the collation ${collation}, .* expected Latin1_General_100_BIN2`,
        ),
      );
    }
    // Any binary collation keeps ids apart; text columns other than id may use any collation.
    for (const collation of ['Japanese_BIN', 'Latin1_General_100_BIN2_UTF8']) {
      const binary = catalogueOf(clicks, { set: { id: { collation_name: collation } } });
      assert.deepEqual(planSchemaChanges('mirror', [clicks], binary).problems, [], collation);
    }
  });

  it('refuses an extra NOT NULL column without default, and a nullable column made NOT NULL', () => {
    const found = [
      ...catalogueOf(brands, { set: { name: { is_nullable: false } } }),
      { ...catalogueOf(brands)[0]!, column_name: 'region', type_name: 'int', is_nullable: false },
      { ...catalogueOf(brands)[0]!, column_name: 'note', is_nullable: false, has_default: 1 },
    ];

    const plan = planSchemaChanges('mirror', [brands], found);

    assert.deepEqual(
      plan.problems.map((problem) => problem.message),
      [
        'mirror table mirror.brands: column name is NOT NULL; expected NULL allowed, since the source may have no value. Allow NULL in it again.',
        'mirror table mirror.brands: column region (int NOT NULL, no default) is not written by the mirror; expected it to allow NULL or have a default. Give it a default, allow NULL, or drop it.',
      ],
    );
  });

  it('describes catalogue types as DDL would write them', () => {
    const base = catalogueOf(brands)[0]!;
    assert.equal(
      describeFoundType({ ...base, type_name: 'nvarchar', max_length: -1 }),
      'nvarchar(max)',
    );
    assert.equal(
      describeFoundType({ ...base, type_name: 'varchar', max_length: 50 }),
      'varchar(50)',
    );
    assert.equal(
      describeFoundType({ ...base, type_name: 'decimal', precision: 18, scale: 2 }),
      'decimal(18,2)',
    );
    assert.equal(describeFoundType({ ...base, type_name: 'bit' }), 'bit');
  });
});
