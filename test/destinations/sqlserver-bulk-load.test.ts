/**
 * What the SQL Server engine hands to the driver's bulk load, checked on the client side with
 * tedious's own encoder (no server runs here): the staging columns are declared nvarchar(max),
 * and a 100,000-character string, an emoji and NULL are encoded whole, as UTF-16 in
 * partially length-prefixed (PLP) chunks, never cut to 4,000 characters.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { Connection } from 'tedious';

import { rowsForBulkLoad } from '../../src/destinations/sqlserver/bulk-load.ts';
import { SourceRowsFailure } from '../../src/destinations/source-rows-failure.ts';
import { connectionConfig, textBulkLoad } from '../../src/destinations/sqlserver/connection.ts';
import { CopyTextFormatError } from '../../src/mirror/copy-text-parser.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { Secret } from '../../src/secret.ts';
import { rowLine, rowsOf } from './postgres-destination-support.ts';

/** A driver connection that is configured but never connected. */
function unconnected(): Connection {
  return new Connection(
    connectionConfig({
      engine: 'SqlServer',
      host: '127.0.0.1',
      port: 1,
      database: 'db',
      schema: 'dbo',
      username: 'u',
      password: new Secret('p'),
      useSsl: false,
    }),
  );
}

/** The bytes tedious would send for `rows`, COLMETADATA and ROW tokens. */
async function encode(rows: unknown[][]): Promise<Buffer> {
  const bulk = textBulkLoad(unconnected(), '#staging', ['id', 'value'], () => undefined);
  const chunks: Buffer[] = [];
  const transform = bulk.rowToPacketTransform;
  transform.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => transform.on('end', resolve));
  Readable.from(rows).pipe(transform);
  await ended;
  return Buffer.concat(chunks);
}

/** A PLP value: unknown total length, one chunk with its length, the terminator. */
function plp(text: string): Buffer {
  const data = Buffer.from(text, 'ucs2');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(data.length, 0);
  return Buffer.concat([
    Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    length,
    data,
    Buffer.from([0, 0, 0, 0]),
  ]);
}

describe('the staging bulk load', () => {
  it('declares every column nvarchar(max)', () => {
    const bulk = textBulkLoad(unconnected(), '#staging', ['id', 'value'], () => undefined);

    assert.equal(
      bulk.getBulkInsertSql(),
      'insert bulk #staging([id] nvarchar(max), [value] nvarchar(max)) WITH (KEEP_NULLS)',
    );
  });

  it('encodes a 100,000-character value and 4-byte characters whole', async () => {
    const long = 'x😀'.repeat(33_334).slice(0, 100_000);

    const bytes = await encode([['1', long]]);

    assert.ok(bytes.includes(plp('1')));
    assert.ok(bytes.includes(plp(long)), 'the whole value, as one PLP chunk');
  });

  it('encodes NULL as a PLP NULL and the empty string as an empty value', async () => {
    const bytes = await encode([
      ['a', null],
      ['b', ''],
    ]);
    const plpNull = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const emptyPlp = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

    assert.ok(bytes.includes(Buffer.concat([plp('a'), plpNull])));
    assert.ok(bytes.includes(Buffer.concat([plp('b'), emptyPlp])));
  });
});

describe('rowsForBulkLoad', () => {
  const clicks = eventTables.clicks;

  it('parses COPY text into rows with instants in ISO 8601 form, NULLs kept', async () => {
    const line = rowLine(clicks, {
      affiliate_id: 7,
      id: 'c\\t1',
      occurred_at: '2017-11-07 01:02:03.123456+00',
    });
    const rows: unknown[][] = [];

    for await (const row of rowsForBulkLoad(rowsOf([line]), clicks, () => undefined)) {
      rows.push(row);
    }

    assert.deepEqual(rows, [
      ['7', 'c\t1', '2017-11-07T01:02:03.123456+00:00', ...Array(9).fill(null), '1'],
    ]);
  });

  it('reports a failing source stream as SourceRowsFailure, with the stream error inside', async () => {
    const failure = new Error('source query cancelled');
    const source = new PassThrough();
    source.write(
      rowLine(clicks, { affiliate_id: 7, id: 'c1', occurred_at: '2017-11-07T01:00:00Z' }),
    );
    setImmediate(() => source.destroy(failure));
    let aborted: unknown;

    const consume = async () => {
      for await (const row of rowsForBulkLoad(source, clicks, (error) => (aborted = error))) {
        assert.equal(row[1], 'c1');
      }
    };

    await assert.rejects(consume(), failure);
    assert.ok(aborted instanceof SourceRowsFailure);
    assert.equal(aborted.failure, failure);
  });

  it('reports text that is not COPY text as CopyTextFormatError', async () => {
    let aborted: unknown;

    const consume = async () => {
      for await (const row of rowsForBulkLoad(
        rowsOf(['only\ttwo\n']),
        clicks,
        (error) => (aborted = error),
      )) {
        assert.fail(`no row expected, got ${String(row)}`);
      }
    };

    await assert.rejects(consume(), CopyTextFormatError);
    assert.ok(aborted instanceof CopyTextFormatError);
  });
});
