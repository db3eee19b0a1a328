import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  formatMicros,
  parseInstant,
  planChunks,
  resolveReloadWindow,
} from '../../src/engine/reload-window.ts';
import { AppError } from '../../src/errors.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return undefined;
}

describe('reload windows', () => {
  test('both ends are inclusive: the end instant itself is inside the window', () => {
    const window = resolveReloadWindow('2017-11-07T00:00:00Z', '2017-11-07T23:59:59Z');

    assert.equal(window.from, '2017-11-07T00:00:00.000000Z');
    assert.equal(window.to, '2017-11-07T23:59:59.000000Z');
    assert.equal(formatMicros(window.toExclusiveMicros), '2017-11-07T23:59:59.000001Z');
  });

  test('a date-only toDate means the whole day, not its midnight', () => {
    const window = resolveReloadWindow('2017-11-07', '2017-11-07');

    assert.equal(window.from, '2017-11-07T00:00:00.000000Z');
    assert.equal(window.to, '2017-11-07T23:59:59.999999Z');
    assert.equal(formatMicros(window.toExclusiveMicros), '2017-11-08T00:00:00.000000Z');
  });

  test('microseconds are kept, not rounded to milliseconds', () => {
    const window = resolveReloadWindow(
      '2017-11-07T10:00:00.123456Z',
      '2017-11-07T10:00:00.654321Z',
    );

    assert.equal(window.from, '2017-11-07T10:00:00.123456Z');
    assert.equal(window.to, '2017-11-07T10:00:00.654321Z');
  });

  test('finer fractions round inwards, so no instant outside the window is included', () => {
    assert.equal(
      formatMicros(parseInstant('2017-11-07T10:00:00.1234561Z', 'from')!.micros),
      '2017-11-07T10:00:00.123457Z',
    );
    assert.equal(
      formatMicros(parseInstant('2017-11-07T10:00:00.1234569Z', 'to')!.micros),
      '2017-11-07T10:00:00.123456Z',
    );
  });

  test('no offset means UTC; offsets are applied', () => {
    assert.equal(
      formatMicros(parseInstant('2017-11-07T10:00:00', 'from')!.micros),
      '2017-11-07T10:00:00.000000Z',
    );
    assert.equal(
      formatMicros(parseInstant('2017-11-07T10:00:00-05:30', 'from')!.micros),
      '2017-11-07T15:30:00.000000Z',
    );
    assert.equal(
      formatMicros(parseInstant('2017-11-07T01:00:00+0200', 'from')!.micros),
      '2017-11-06T23:00:00.000000Z',
    );
  });

  test('impossible dates, times and offsets are unreadable', () => {
    const impossible = ['2017-02-29', '2017-13-01', '2017-11-07T24:00:00Z', '2017-11-07T10:60Z'];
    const offsets = [
      '2017-11-07T00:00:00+99:99',
      '2017-11-07T00:00:00+15:00',
      '2017-11-07T00:00:00-05:60',
    ];
    for (const text of [...impossible, ...offsets, 'yesterday', '']) {
      assert.equal(parseInstant(text, 'from'), undefined, text);
    }
    assert.notEqual(parseInstant('2016-02-29', 'from'), undefined);
    assert.notEqual(parseInstant('2017-11-07T00:00:00+14:00', 'from'), undefined);
  });

  test('years before 100 are themselves, not 19xx', () => {
    assert.equal(
      formatMicros(parseInstant('0050-03-01', 'from')!.micros),
      '0050-03-01T00:00:00.000000Z',
    );
  });

  test('windows outside 1900..2999 are refused with the field named', () => {
    assert.equal(
      codeOf(() => resolveReloadWindow('1899-12-31', '2017-11-07')),
      'RELOAD_DATE_INVALID',
    );
    assert.equal(
      codeOf(() => resolveReloadWindow('2017-11-07', '9999-12-31')),
      'RELOAD_DATE_INVALID',
    );
    assert.equal(
      codeOf(() => resolveReloadWindow('1900-01-01', '2999-12-31')),
      undefined,
    );
  });

  test('a window whose start is after its end is rejected; a one-instant window is not', () => {
    assert.equal(
      codeOf(() => resolveReloadWindow('2017-11-08', '2017-11-07')),
      'RELOAD_WINDOW_INVALID',
    );
    assert.equal(
      codeOf(() => resolveReloadWindow('2017-11-07T10:00:00Z', '2017-11-07T10:00:00Z')),
      undefined,
    );
  });

  test('missing and unreadable dates have their own codes', () => {
    assert.equal(
      codeOf(() => resolveReloadWindow(undefined, '2017-11-07')),
      'RELOAD_DATE_MISSING',
    );
    assert.equal(
      codeOf(() => resolveReloadWindow('2017-11-07', null)),
      'RELOAD_DATE_MISSING',
    );
    assert.equal(
      codeOf(() => resolveReloadWindow(20171107, '2017-11-07')),
      'RELOAD_DATE_INVALID',
    );
  });
});

/** The UTC day numbers of every day the window touches: a window with rows on each day. */
function everyDay(window: { fromMicros: bigint; toExclusiveMicros: bigint }): bigint[] {
  const dayMicros = 86_400_000_000n;
  const first = window.fromMicros / dayMicros - (window.fromMicros < 0n ? 1n : 0n);
  const days: bigint[] = [];
  for (let day = first; day * dayMicros < window.toExclusiveMicros; day += 1n) days.push(day);
  return days;
}

describe('daily chunks', () => {
  test('split at UTC midnights and cover the window without gap or overlap', () => {
    const window = resolveReloadWindow('2017-11-06T20:30:00Z', '2017-11-08T09:15:00Z');
    const chunks = planChunks(window.fromMicros, window.toExclusiveMicros, everyDay(window));

    assert.deepEqual(chunks, [
      { from: '2017-11-06T20:30:00.000000Z', toExclusive: '2017-11-07T00:00:00.000000Z' },
      { from: '2017-11-07T00:00:00.000000Z', toExclusive: '2017-11-08T00:00:00.000000Z' },
      { from: '2017-11-08T00:00:00.000000Z', toExclusive: '2017-11-08T09:15:00.000001Z' },
    ]);
  });

  test('a ten-year window is one chunk per day', () => {
    const window = resolveReloadWindow('2010-01-01', '2019-12-31');
    const chunks = planChunks(window.fromMicros, window.toExclusiveMicros, everyDay(window));

    assert.equal(chunks.length, 3652);
    assert.equal(chunks.at(-1)!.toExclusive, '2020-01-01T00:00:00.000000Z');
  });

  test('runs of days without source rows are one chunk each; days with rows one chunk each', () => {
    const window = resolveReloadWindow('2010-01-01', '2019-12-31');
    const day = (iso: string) => parseInstant(iso, 'from')!.micros / 86_400_000_000n;
    const chunks = planChunks(window.fromMicros, window.toExclusiveMicros, [
      day('2015-06-02'),
      day('2015-06-01'),
    ]);

    assert.deepEqual(chunks, [
      { from: '2010-01-01T00:00:00.000000Z', toExclusive: '2015-06-01T00:00:00.000000Z' },
      { from: '2015-06-01T00:00:00.000000Z', toExclusive: '2015-06-02T00:00:00.000000Z' },
      { from: '2015-06-02T00:00:00.000000Z', toExclusive: '2015-06-03T00:00:00.000000Z' },
      { from: '2015-06-03T00:00:00.000000Z', toExclusive: '2020-01-01T00:00:00.000000Z' },
    ]);
  });

  test('a window that starts and ends inside days with rows is cut at its own edges', () => {
    const window = resolveReloadWindow('2017-11-06T20:30:00Z', '2017-11-07T09:15:00Z');
    const day = (iso: string) => parseInstant(iso, 'from')!.micros / 86_400_000_000n;
    const chunks = planChunks(window.fromMicros, window.toExclusiveMicros, [
      day('2017-11-06'),
      day('2017-11-07'),
    ]);

    assert.deepEqual(chunks, [
      { from: '2017-11-06T20:30:00.000000Z', toExclusive: '2017-11-07T00:00:00.000000Z' },
      { from: '2017-11-07T00:00:00.000000Z', toExclusive: '2017-11-07T09:15:00.000001Z' },
    ]);
  });

  test('instants before 1970 format and split correctly', () => {
    const window = resolveReloadWindow('1969-12-31T12:00:00.5Z', '1970-01-01T01:00:00Z');
    const chunks = planChunks(window.fromMicros, window.toExclusiveMicros, everyDay(window));

    assert.equal(window.from, '1969-12-31T12:00:00.500000Z');
    assert.deepEqual(
      chunks.map((chunk) => chunk.toExclusive),
      ['1970-01-01T00:00:00.000000Z', '1970-01-01T01:00:00.000001Z'],
    );
  });
});
