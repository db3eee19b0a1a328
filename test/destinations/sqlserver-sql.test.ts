/**
 * The exact SQL the SQL Server engine sends, statement by statement. No SQL Server runs on
 * this machine, so these texts are what reviewers (and a later run against a real server,
 * see docs/sqlserver.md) check; each assertion is a whole statement, so any change shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DELETIONS_PER_STATEMENT,
  deletionStatements,
  MAX_PARAMETERS_PER_STATEMENT,
  upsertNewerStatements,
} from '../../src/destinations/sqlserver/apply-changes.ts';
import {
  bookkeepingTableSql,
  CHUNKS_TABLE,
  claimChunkSql,
  CURSORS_TABLE,
  insertCursorIfMissingSql,
  readCursorSql,
  TAKE_APPLOCK_SQL,
  writeCursorSql,
  writeLockResource,
} from '../../src/destinations/sqlserver/bookkeeping.ts';
import {
  convertStagedSql,
  incomingTableSql,
  stagingTableSql,
  toIsoInstant,
} from '../../src/destinations/sqlserver/bulk-load.ts';
import {
  addColumnSql,
  addPrimaryKeySql,
  createIndexSql,
  createSchemaSql,
  createTableSql,
  SCHEMA_COLUMNS_SQL,
} from '../../src/destinations/sqlserver/ddl.ts';
import { mergeStatements } from '../../src/destinations/sqlserver/merge-dimensions.ts';
import { replaceRangeStatements } from '../../src/destinations/sqlserver/replace-range.ts';
import { backfillSql } from '../../src/destinations/sqlserver/schema-drift.ts';
import { quoteIdentifier, unicodeLiteral } from '../../src/sql/sqlserver-identifiers.ts';
import { dimensionTables, eventTables } from '../../src/mirror/tables.ts';

const clicks = eventTables.clicks;
const conversions = eventTables.conversions;
const brands = dimensionTables.find((table) => table.name === 'brands')!;

describe('SQL Server identifiers and literals', () => {
  it('brackets names, doubles ], and writes Unicode literals with N and doubled quotes', () => {
    assert.equal(quoteIdentifier('a]b[c'), '[a]]b[c]');
    assert.equal(unicodeLiteral("it's 日本"), "N'it''s 日本'");
    assert.throws(() => quoteIdentifier('x'.repeat(129)), /128-character limit/);
  });
});

describe('SQL Server DDL', () => {
  it('creates the schema through EXEC only when it is missing', () => {
    assert.equal(
      createSchemaSql("o'k]"),
      "IF SCHEMA_ID(@schema) IS NULL EXEC(N'CREATE SCHEMA [o''k]]]')",
    );
  });

  it('creates an event table with the mapped types, a binary-collated id and its key', () => {
    assert.equal(
      createTableSql('mirror', conversions),
      'CREATE TABLE [mirror].[conversions] ([affiliate_id] int NOT NULL, ' +
        '[id] nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL, ' +
        '[occurred_at] datetimeoffset(7) NOT NULL, [click_id] nvarchar(max) NULL, ' +
        '[brand_id] nvarchar(max) NULL, [program_id] nvarchar(max) NULL, ' +
        '[traffic_source_id] nvarchar(max) NULL, [status] nvarchar(max) NULL, ' +
        '[amount] decimal(19,4) NULL, [currency] nvarchar(max) NULL, ' +
        '[change_seq] bigint NOT NULL, ' +
        'CONSTRAINT [conversions_pkey] PRIMARY KEY ([affiliate_id], [id]))',
    );
  });

  it('maps integer and bigint columns', () => {
    assert.match(
      createTableSql('mirror', eventTables.pageviews),
      /\[status_code\] int NULL, \[bytes\] bigint NULL,/,
    );
  });

  it('indexes event tables by affiliate and time, when the index is missing; not dimensions', () => {
    assert.equal(
      createIndexSql('mirror', clicks),
      "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE [object_id] = OBJECT_ID(N'[mirror].[clicks]') AND [name] = N'clicks_affiliate_id_occurred_at_idx')\n" +
        'CREATE INDEX [clicks_affiliate_id_occurred_at_idx] ON [mirror].[clicks] ([affiliate_id], [occurred_at])',
    );
    assert.equal(createIndexSql('mirror', brands), undefined);
  });

  it('adds back a nullable column, change_seq with default 0, and a primary key', () => {
    const status = conversions.columns.find((column) => column.name === 'status')!;
    const changeSeq = conversions.columns.find((column) => column.name === 'change_seq')!;

    assert.equal(
      addColumnSql('mirror', conversions, status),
      'ALTER TABLE [mirror].[conversions] ADD [status] nvarchar(max) NULL',
    );
    assert.equal(
      addColumnSql('mirror', conversions, changeSeq),
      'ALTER TABLE [mirror].[conversions] ADD [change_seq] bigint NOT NULL CONSTRAINT [conversions_change_seq_df] DEFAULT 0',
    );
    assert.equal(
      addPrimaryKeySql('mirror', brands),
      'ALTER TABLE [mirror].[brands] ADD CONSTRAINT [brands_pkey] PRIMARY KEY ([affiliate_id], [id])',
    );
  });

  it('backfills a created or repaired table: its cursors removed, its rows made oldest', () => {
    assert.deepEqual(backfillSql('mirror', clicks), [
      'DELETE FROM [mirror].[_mirror_cursors] WHERE [table_name] = @tableName',
      'UPDATE [mirror].[clicks] SET [change_seq] = 0 WHERE [change_seq] <> 0',
    ]);
  });

  it('reads the schema for drift checks in one query over the catalogue views', () => {
    assert.equal(
      SCHEMA_COLUMNS_SQL,
      `SELECT o.[name] AS [table_name], c.[name] AS [column_name], t.[name] AS [type_name],
  c.[max_length], c.[precision], c.[scale], c.[is_nullable], c.[collation_name],
  CASE WHEN c.[default_object_id] <> 0 OR c.[is_identity] = 1 OR c.[is_computed] = 1 THEN 1 ELSE 0 END AS [has_default],
  OBJECTPROPERTY(o.[object_id], N'TableHasPrimaryKey') AS [has_primary_key]
FROM sys.tables AS o
JOIN sys.schemas AS s ON s.[schema_id] = o.[schema_id]
JOIN sys.columns AS c ON c.[object_id] = o.[object_id]
JOIN sys.types AS t ON t.[user_type_id] = c.[user_type_id]
WHERE s.[name] = @schema
ORDER BY o.[name], c.[column_id]`,
    );
  });
});

describe('SQL Server bookkeeping', () => {
  it('creates _mirror_chunks and _mirror_cursors', () => {
    assert.equal(
      bookkeepingTableSql('mirror', CHUNKS_TABLE),
      `CREATE TABLE [mirror].[_mirror_chunks] (
  [execution_id] uniqueidentifier NOT NULL,
  [chunk_index] int NOT NULL,
  [worker_id] nvarchar(max) NOT NULL,
  [committed_at] datetimeoffset(7) NOT NULL CONSTRAINT [_mirror_chunks_committed_at_df] DEFAULT SYSDATETIMEOFFSET(),
  CONSTRAINT [_mirror_chunks_pkey] PRIMARY KEY ([execution_id], [chunk_index]))`,
    );
    assert.equal(
      bookkeepingTableSql('mirror', CURSORS_TABLE),
      `CREATE TABLE [mirror].[_mirror_cursors] (
  [affiliate_id] int NOT NULL,
  [table_name] nvarchar(128) NOT NULL,
  [cursor_xid] decimal(20,0) NOT NULL,
  [cursor_seq] bigint NOT NULL,
  [updated_at] datetimeoffset(7) NOT NULL CONSTRAINT [_mirror_cursors_updated_at_df] DEFAULT SYSDATETIMEOFFSET(),
  CONSTRAINT [_mirror_cursors_pkey] PRIMARY KEY ([affiliate_id], [table_name]))`,
    );
  });

  it('claims a chunk with parameters', () => {
    assert.equal(
      claimChunkSql('mirror'),
      `INSERT INTO [mirror].[_mirror_chunks] ([execution_id], [chunk_index], [worker_id])
VALUES (@executionId, @chunkIndex, @workerId)`,
    );
  });

  it('reads the cursor as text, locked with UPDLOCK, HOLDLOCK when asked to', () => {
    assert.equal(
      readCursorSql('mirror', true),
      `SELECT CONVERT(nvarchar(40), [cursor_xid]) AS [xid], CONVERT(nvarchar(20), [cursor_seq]) AS [seq]
FROM [mirror].[_mirror_cursors] WITH (UPDLOCK, HOLDLOCK)
WHERE [affiliate_id] = @affiliateId AND [table_name] = @tableName`,
    );
    assert.doesNotMatch(readCursorSql('mirror', false), /UPDLOCK/);
  });

  it('starts a cursor only when missing, and moves it with server-side conversions', () => {
    assert.equal(
      insertCursorIfMissingSql('mirror'),
      `IF NOT EXISTS (SELECT 1 FROM [mirror].[_mirror_cursors] WITH (UPDLOCK, HOLDLOCK)
  WHERE [affiliate_id] = @affiliateId AND [table_name] = @tableName)
INSERT INTO [mirror].[_mirror_cursors] ([affiliate_id], [table_name], [cursor_xid], [cursor_seq])
VALUES (@affiliateId, @tableName, CAST(@xid AS decimal(20,0)), CAST(@seq AS bigint))`,
    );
    assert.equal(
      writeCursorSql('mirror'),
      `UPDATE [mirror].[_mirror_cursors]
SET [cursor_xid] = CAST(@xid AS decimal(20,0)), [cursor_seq] = CAST(@seq AS bigint), [updated_at] = SYSDATETIMEOFFSET()
WHERE [affiliate_id] = @affiliateId AND [table_name] = @tableName`,
    );
  });

  it('takes a transaction-owned exclusive applock named like the PostgreSQL lock', () => {
    assert.equal(
      writeLockResource('mirror', 'clicks', 7),
      'affiliate-mirror write mirror.clicks 7',
    );
    assert.equal(
      TAKE_APPLOCK_SQL,
      `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = N'Exclusive', @LockOwner = N'Transaction';
IF @result < 0
BEGIN
  DECLARE @message nvarchar(400) = CONCAT(N'the mirror lock "', @resource, N'" was not granted (sp_getapplock returned ', @result, N')');
  THROW 50001, @message, 1;
END`,
    );
  });
});

describe('SQL Server staging', () => {
  it('stages every column as nvarchar(max), then converts on the server', () => {
    assert.equal(
      stagingTableSql(brands),
      'CREATE TABLE #staging ([affiliate_id] nvarchar(max) NULL, [id] nvarchar(max) NULL, [name] nvarchar(max) NULL, [change_seq] nvarchar(max) NULL)',
    );
    assert.equal(
      incomingTableSql(brands),
      'CREATE TABLE #incoming ([affiliate_id] int NOT NULL, [id] nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL, [name] nvarchar(max) NULL, [change_seq] bigint NOT NULL, PRIMARY KEY ([affiliate_id], [id]))',
    );
    assert.equal(
      convertStagedSql(conversions),
      'INSERT INTO #incoming ([affiliate_id], [id], [occurred_at], [click_id], [brand_id], [program_id], [traffic_source_id], [status], [amount], [currency], [change_seq]) ' +
        'SELECT CAST([affiliate_id] AS int), [id], CONVERT(datetimeoffset(7), [occurred_at], 127), [click_id], [brand_id], [program_id], [traffic_source_id], [status], CAST([amount] AS decimal(19,4)), [currency], CAST([change_seq] AS bigint) FROM #staging',
    );
  });

  it('rewrites PostgreSQL instants into ISO 8601 without touching a digit', () => {
    assert.equal(toIsoInstant('2017-11-07 01:00:00.123456+00'), '2017-11-07T01:00:00.123456+00:00');
    assert.equal(toIsoInstant('2017-11-07 01:00:00+05:30'), '2017-11-07T01:00:00+05:30');
    assert.equal(toIsoInstant('2017-11-07T01:00:00Z'), '2017-11-07T01:00:00Z');
    assert.equal(toIsoInstant('2017-11-07 01:00:00-0330'), '2017-11-07T01:00:00-03:30');
    assert.equal(toIsoInstant('infinity'), 'infinity');
  });
});

describe('SQL Server replaceRange statements', () => {
  it('deletes the range, then rows that moved out of it, inserts, and counts the range', () => {
    const inRange =
      'WHERE [affiliate_id] = @affiliateId\n' +
      '  AND [occurred_at] >= CONVERT(datetimeoffset(7), @from, 127)\n' +
      '  AND [occurred_at] < CONVERT(datetimeoffset(7), @toExclusive, 127)';

    assert.deepEqual(replaceRangeStatements('mirror', eventTables.pageviews), {
      deleteRange: `DELETE FROM [mirror].[pageviews] ${inRange}`,
      deleteMoved:
        'DELETE target FROM [mirror].[pageviews] AS target\n' +
        'JOIN #incoming AS incoming ON incoming.[affiliate_id] = target.[affiliate_id] AND incoming.[id] = target.[id]\n' +
        'WHERE target.[affiliate_id] = @affiliateId',
      insert:
        'INSERT INTO [mirror].[pageviews] ([affiliate_id], [id], [occurred_at], [ip], [method], [path], [status_code], [bytes], [referrer], [user_agent], [change_seq]) ' +
        'SELECT [affiliate_id], [id], [occurred_at], [ip], [method], [path], [status_code], [bytes], [referrer], [user_agent], [change_seq] FROM #incoming WHERE [affiliate_id] = @affiliateId',
      countRange: `SELECT COUNT_BIG(*) AS [n] FROM [mirror].[pageviews] ${inRange}`,
    });
  });
});

describe('SQL Server mergeDimension statements', () => {
  it('updates rows whose bytes differ, inserts new ones, deletes missing ones: no MERGE', () => {
    const sameKey =
      'incoming.[affiliate_id] = target.[affiliate_id] AND incoming.[id] = target.[id]';
    const statements = mergeStatements('mirror', brands);

    assert.deepEqual(statements, {
      update:
        'UPDATE target SET [name] = incoming.[name], [change_seq] = incoming.[change_seq]\n' +
        `FROM [mirror].[brands] AS target JOIN #incoming AS incoming ON ${sameKey}\n` +
        'WHERE target.[affiliate_id] = @affiliateId AND (' +
        '(CAST(target.[name] AS varbinary(max)) <> CAST(incoming.[name] AS varbinary(max)) OR (target.[name] IS NULL AND incoming.[name] IS NOT NULL) OR (target.[name] IS NOT NULL AND incoming.[name] IS NULL))' +
        ' OR ' +
        '(target.[change_seq] <> incoming.[change_seq] OR (target.[change_seq] IS NULL AND incoming.[change_seq] IS NOT NULL) OR (target.[change_seq] IS NOT NULL AND incoming.[change_seq] IS NULL)))',
      insert:
        'INSERT INTO [mirror].[brands] ([affiliate_id], [id], [name], [change_seq])\n' +
        'SELECT incoming.[affiliate_id], incoming.[id], incoming.[name], incoming.[change_seq] FROM #incoming AS incoming\n' +
        'WHERE incoming.[affiliate_id] = @affiliateId\n' +
        `  AND NOT EXISTS (SELECT 1 FROM [mirror].[brands] AS target WHERE ${sameKey})`,
      delete:
        'DELETE target FROM [mirror].[brands] AS target\n' +
        'WHERE target.[affiliate_id] = @affiliateId\n' +
        `  AND NOT EXISTS (SELECT 1 FROM #incoming AS incoming WHERE ${sameKey})`,
      count:
        'SELECT COUNT_BIG(*) AS [n] FROM [mirror].[brands] WHERE [affiliate_id] = @affiliateId',
    });
    assert.doesNotMatch(Object.values(statements).join('\n'), /\bMERGE\b/);
  });
});

describe('SQL Server applyChanges statements', () => {
  it('replaces only older versions and inserts rows the mirror does not have', () => {
    assert.equal(
      upsertNewerStatements('mirror', brands).update,
      'UPDATE target SET [name] = incoming.[name], [change_seq] = incoming.[change_seq]\n' +
        'FROM [mirror].[brands] AS target JOIN #incoming AS incoming ON incoming.[affiliate_id] = target.[affiliate_id] AND incoming.[id] = target.[id]\n' +
        'WHERE target.[affiliate_id] = @affiliateId AND target.[change_seq] < incoming.[change_seq]',
    );
  });

  it('deletes only rows older than their deletion, with ids and change numbers as parameters', () => {
    const [statement] = deletionStatements('mirror', brands, 7, [
      { id: "b'1", changeSeq: '9007199254740993' },
      { id: 'b2', changeSeq: '6' },
    ]);

    assert.equal(
      statement!.sql,
      'DELETE target FROM [mirror].[brands] AS target\n' +
        'JOIN (VALUES (@id0, CAST(@seq0 AS bigint)), (@id1, CAST(@seq1 AS bigint))) AS gone ([id], [change_seq]) ON target.[id] = gone.[id]\n' +
        'WHERE target.[affiliate_id] = @affiliateId AND target.[change_seq] < gone.[change_seq]',
    );
    assert.deepEqual(statement!.parameters, [
      { name: 'affiliateId', type: 'int', value: 7 },
      { name: 'id0', type: 'nvarchar', value: "b'1" },
      { name: 'seq0', type: 'nvarchar', value: '9007199254740993' },
      { name: 'id1', type: 'nvarchar', value: 'b2' },
      { name: 'seq1', type: 'nvarchar', value: '6' },
    ]);
  });

  it('splits 5,000 deletions into statements that each stay under 2,100 parameters', () => {
    const deletions = Array.from({ length: 5_000 }, (_, index) => ({
      id: `c-${index}`,
      changeSeq: String(index + 1),
    }));

    const statements = deletionStatements('mirror', clicks, 7, deletions);

    assert.equal(statements.length, Math.ceil(5_000 / DELETIONS_PER_STATEMENT));
    for (const statement of statements) {
      assert.ok(statement.parameters.length <= MAX_PARAMETERS_PER_STATEMENT);
      const referenced = new Set(statement.sql.match(/@\w+/g));
      assert.equal(referenced.size, statement.parameters.length);
    }
    const ids = statements.flatMap((statement) =>
      statement.parameters.filter((p) => p.name.startsWith('id')).map((p) => p.value),
    );
    assert.deepEqual(
      ids,
      deletions.map((deletion) => deletion.id),
    );
    assert.deepEqual(deletionStatements('mirror', clicks, 7, []), []);
  });
});
