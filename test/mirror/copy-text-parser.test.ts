import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { to as copyTo } from 'pg-copy-streams';

import {
  CopyTextFormatError,
  parseCopyText,
  type CopyTextRow,
} from '../../src/mirror/copy-text-parser.ts';
import { createTestDatabase } from '../support/databases.ts';

/** Parses `chunks` (each a string or bytes) as COPY text with `columns` fields per row. */
async function parse(chunks: Array<string | Buffer>, columns: number): Promise<CopyTextRow[]> {
  const rows: CopyTextRow[] = [];
  for await (const row of parseCopyText(Readable.from(chunks), columns)) rows.push(row);
  return rows;
}

/** Every way to cut `bytes` into two chunks. */
function everySplit(bytes: Buffer): Buffer[][] {
  const splits: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at += 1) {
    splits.push([bytes.subarray(0, at), bytes.subarray(at)]);
  }
  return splits;
}

describe('parseCopyText', () => {
  it('reads fields, NULL, empty strings and the text \\N escaped', async () => {
    const rows = await parse(['a\t\\N\t\t\\\\N\n', 'b\tx\ty\tz\n'], 4);

    assert.deepEqual(rows, [
      ['a', null, '', '\\N'],
      ['b', 'x', 'y', 'z'],
    ]);
  });

  it('unescapes \\\\ \\t \\n \\r \\b \\f \\v and any other escaped character', async () => {
    const rows = await parse(['a\\\\b\\tc\\nd\\re\\bf\\fg\\vh\\qi\\\tj\n'], 1);

    assert.deepEqual(rows, [['a\\b\tc\nd\re\bf\fg\vh' + 'qi\tj']]);
  });

  it('unescapes octal \\NNN and hex \\xHH bytes, also as parts of UTF-8 sequences', async () => {
    // \303\251 and \xC3\xA9 are both the UTF-8 bytes of é; \101 is A, \x4 is U+0004.
    const rows = await parse(['\\101\\7\\303\\251\t\\xC3\\xa9\\x4z\\x\n'], 2);

    assert.deepEqual(rows, [['A\u0007é', 'é\u0004zx']]);
  });

  it('keeps multi-byte characters split across chunk boundaries, at every split', async () => {
    const text = 'päge 😀 日本\t\\N\n';
    const bytes = Buffer.from(text, 'utf8');

    for (const chunks of everySplit(bytes)) {
      const rows = await parse(chunks, 2);
      assert.deepEqual(rows, [['päge 😀 日本', null]], `split at ${chunks[0]!.length}`);
    }
  });

  it('keeps escapes split across chunk boundaries, at every split', async () => {
    const bytes = Buffer.from('a\\tb\\\\\t\\N\t\\x41\n', 'utf8');

    for (const chunks of everySplit(bytes)) {
      assert.deepEqual(await parse(chunks, 3), [['a\tb\\', null, 'A']]);
    }
  });

  it('reads a 100,000-character field that arrives in many small chunks', async () => {
    const long = 'x😀'.repeat(50_000);
    const bytes = Buffer.from(`1\t${long}\n`, 'utf8');
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 1_000) chunks.push(bytes.subarray(at, at + 1_000));

    const rows = await parse(chunks, 2);

    assert.equal(rows.length, 1);
    assert.equal(rows[0]![1], long);
  });

  it('stops at a \\. line and accepts CRLF line ends', async () => {
    assert.deepEqual(await parse(['a\tb\r\n\\.\nignored\n'], 2), [['a', 'b']]);
  });

  it('refuses a wrong field count, a lone backslash, bad UTF-8 and a missing last newline', async () => {
    const cases: Array<[Array<string | Buffer>, RegExp]> = [
      [['a\tb\tc\n'], /line 1: 3 fields where 2 columns were expected/],
      [['a\tb\\\n'], /line 1: the line ends with a lone backslash/],
      [[Buffer.from([0x61, 0x09, 0xc3, 0x28, 0x0a])], /line 1: a field is not valid UTF-8/],
      [['a\t\\xff\n'], /line 1: a field is not valid UTF-8/],
      [['a\tb\n', 'c\td'], /line 2: the data ends without a newline/],
    ];

    for (const [chunks, message] of cases) {
      await assert.rejects(parse(chunks, 2), (error: unknown) => {
        assert.ok(error instanceof CopyTextFormatError);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it('reads only as far as the consumer has taken rows (backpressure)', async () => {
    let chunksRead = 0;
    function* source() {
      for (let chunk = 0; chunk < 1_000; chunk += 1) {
        chunksRead += 1;
        yield Buffer.from(`${chunk}\n`);
      }
    }

    const rows = parseCopyText(Readable.from(source(), { highWaterMark: 1 }), 1);
    for (let taken = 0; taken < 3; taken += 1) await rows.next();
    await rows.return(undefined);

    // The readable buffers at most a couple of chunks ahead of the three rows taken.
    assert.ok(chunksRead < 10, `read ${chunksRead} chunks for 3 rows`);
  });
});

describe('parseCopyText on what PostgreSQL itself writes', () => {
  it('reads back exactly the values PostgreSQL COPY TO wrote, NULLs included', async () => {
    const database = await createTestDatabase('copy_text_parser');
    const values = [
      'plain',
      '',
      '\\N',
      'tab\there',
      'line\nbreak\r\n',
      'back\\slash',
      '\b\f\v',
      'é 日本 😀',
      'x'.repeat(100_000),
      null,
    ];
    await database.pool.query('CREATE TABLE t (n integer, v text)');
    for (const [index, value] of values.entries()) {
      await database.pool.query('INSERT INTO t VALUES ($1, $2)', [index, value]);
    }

    const client = await database.pool.connect();
    try {
      const stream = client.query(copyTo('COPY (SELECT n, v FROM t ORDER BY n) TO STDOUT'));
      const rows: CopyTextRow[] = [];
      for await (const row of parseCopyText(stream, 2)) rows.push(row);

      assert.deepEqual(
        rows,
        values.map((value, index) => [String(index), value]),
      );
    } finally {
      client.release();
    }
  });
});
