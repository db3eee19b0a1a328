/**
 * What the SQL Server engine hands to the driver's bulk load, checked on the client side with
 * tedious's own encoder (no server runs here): the staging columns are declared nvarchar(max),
 * and a 100,000-character string, an emoji and NULL are encoded whole, as UTF-16 in
 * partially length-prefixed (PLP) chunks, never cut to 4,000 characters.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { Connection } from 'tedious';

import { connectionConfig, textBulkLoad } from '../../src/destinations/sqlserver/connection.ts';
import { Secret } from '../../src/secret.ts';

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
