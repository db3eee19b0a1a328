import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { formatMicros, resolveReloadWindow } from '../../src/engine/reload-window.ts';
import { normaliseTimeZone, readTimeZone } from '../../src/engine/time-zone.ts';
import { AppError } from '../../src/errors.ts';

/** Date-only reload windows read in an affiliate's time zone, DST days included. */

const HOUR = 3_600_000_000n;

/** A window as [first instant, first instant after], both in UTC, and its length in hours. */
function day(date: string, zone: string) {
  const window = resolveReloadWindow(date, date, zone);
  const span = window.toExclusiveMicros - window.fromMicros;
  return {
    from: window.from,
    toExclusive: formatMicros(window.toExclusiveMicros),
    hours: Number(span) / Number(HOUR),
  };
}

describe('date-only windows in the affiliate time zone', () => {
  test('Europe/Paris 2026-03-29 (clocks forward) is 23 hours long', () => {
    assert.deepEqual(day('2026-03-29', 'Europe/Paris'), {
      from: '2026-03-28T23:00:00.000000Z',
      toExclusive: '2026-03-29T22:00:00.000000Z',
      hours: 23,
    });
  });

  test('Europe/Paris 2026-10-25 (clocks back) is 25 hours long', () => {
    assert.deepEqual(day('2026-10-25', 'Europe/Paris'), {
      from: '2026-10-24T22:00:00.000000Z',
      toExclusive: '2026-10-25T23:00:00.000000Z',
      hours: 25,
    });
  });

  test('the inclusive end echoed is the last microsecond of the local day', () => {
    const window = resolveReloadWindow('2026-03-29', '2026-03-29', 'Europe/Paris');

    assert.equal(window.to, '2026-03-29T21:59:59.999999Z');
    assert.equal(window.timeZone, 'Europe/Paris');
  });

  test('America/New_York: 23 hours on 2026-03-08, 25 on 2026-11-01, 24 around them', () => {
    assert.deepEqual(day('2026-03-08', 'America/New_York'), {
      from: '2026-03-08T05:00:00.000000Z',
      toExclusive: '2026-03-09T04:00:00.000000Z',
      hours: 23,
    });
    assert.deepEqual(day('2026-11-01', 'America/New_York'), {
      from: '2026-11-01T04:00:00.000000Z',
      toExclusive: '2026-11-02T05:00:00.000000Z',
      hours: 25,
    });
    assert.equal(day('2026-03-07', 'America/New_York').hours, 24);
    assert.equal(day('2026-11-02', 'America/New_York').hours, 24);
  });

  test('Asia/Kolkata days start at 18:30 UTC the day before (+05:30, no DST)', () => {
    assert.deepEqual(day('2026-03-29', 'Asia/Kolkata'), {
      from: '2026-03-28T18:30:00.000000Z',
      toExclusive: '2026-03-29T18:30:00.000000Z',
      hours: 24,
    });
  });

  test('Pacific/Chatham (+13:45 in summer, +12:45 in winter) moves by quarter hours', () => {
    assert.deepEqual(day('2026-04-05', 'Pacific/Chatham'), {
      from: '2026-04-04T10:15:00.000000Z',
      toExclusive: '2026-04-05T11:15:00.000000Z',
      hours: 25,
    });
    assert.deepEqual(day('2026-09-27', 'Pacific/Chatham'), {
      from: '2026-09-26T11:15:00.000000Z',
      toExclusive: '2026-09-27T10:15:00.000000Z',
      hours: 23,
    });
  });

  test('a day whose midnight does not exist starts at the first instant that does', () => {
    // America/Santiago went from 00:00 -04 straight to 01:00 -03 on 2022-09-11.
    assert.deepEqual(day('2022-09-11', 'America/Santiago'), {
      from: '2022-09-11T04:00:00.000000Z',
      toExclusive: '2022-09-12T03:00:00.000000Z',
      hours: 23,
    });
    // America/Havana jumps from 00:00 to 01:00 on the second Sunday of March.
    assert.equal(day('2026-03-08', 'America/Havana').from, '2026-03-08T05:00:00.000000Z');
    // The day before ends where that day begins: no instant is lost between them.
    assert.equal(day('2026-03-07', 'America/Havana').toExclusive, '2026-03-08T05:00:00.000000Z');
  });

  test('a day whose midnight happens twice starts at the first one', () => {
    // America/Havana falls back from 01:00 CDT to 00:00 CST on 2026-11-01.
    assert.deepEqual(day('2026-11-01', 'America/Havana'), {
      from: '2026-11-01T04:00:00.000000Z',
      toExclusive: '2026-11-02T05:00:00.000000Z',
      hours: 25,
    });
    assert.equal(day('2026-10-31', 'America/Havana').toExclusive, '2026-11-01T04:00:00.000000Z');
  });

  test('a date the zone skipped is refused as a day the zone does not have', () => {
    // Pacific/Apia went from 2011-12-29 straight to 2011-12-31.
    assert.throws(
      () => resolveReloadWindow('2011-12-30', '2011-12-30', 'Pacific/Apia'),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === 'RELOAD_DATE_INVALID' &&
        error.fields[0]?.field === 'fromDate' &&
        /Pacific\/Apia does not have/.test(error.message),
    );
    assert.equal(day('2011-12-31', 'Pacific/Apia').from, '2011-12-30T10:00:00.000000Z');
    // As one end of a longer window it is no mistake: the window holds the days around it.
    const around = resolveReloadWindow('2011-12-30', '2011-12-31', 'Pacific/Apia');
    assert.equal(around.from, '2011-12-30T10:00:00.000000Z');
  });

  test('without a zone, windows are read in UTC exactly as before', () => {
    const implicit = resolveReloadWindow('2017-11-07', '2017-11-08');
    const utc = resolveReloadWindow('2017-11-07', '2017-11-08', 'UTC');

    assert.deepEqual(implicit, utc);
    assert.equal(implicit.from, '2017-11-07T00:00:00.000000Z');
    assert.equal(implicit.to, '2017-11-08T23:59:59.999999Z');
    assert.equal(implicit.timeZone, 'UTC');
  });

  test('date-times with or without an offset ignore the zone', () => {
    for (const zone of ['UTC', 'Europe/Paris', 'Pacific/Chatham', 'America/New_York']) {
      const offset = resolveReloadWindow('2026-03-29T01:30:00+02:00', '2026-03-29T10:00:00', zone);

      assert.equal(offset.from, '2026-03-28T23:30:00.000000Z', zone);
      assert.equal(offset.to, '2026-03-29T10:00:00.000000Z', zone);
    }
  });

  test('a date-only fromDate with a date-time toDate, and the reverse', () => {
    const dateThenTime = resolveReloadWindow('2026-03-29', '2026-03-29T12:00:00Z', 'Europe/Paris');
    assert.equal(dateThenTime.from, '2026-03-28T23:00:00.000000Z');
    assert.equal(dateThenTime.to, '2026-03-29T12:00:00.000000Z');

    const timeThenDate = resolveReloadWindow('2026-10-25T06:00:00Z', '2026-10-25', 'Europe/Paris');
    assert.equal(timeThenDate.from, '2026-10-25T06:00:00.000000Z');
    assert.equal(timeThenDate.to, '2026-10-25T22:59:59.999999Z');
  });

  test('consecutive date-only days tile the time line across DST changes', () => {
    for (const zone of [
      'Europe/Paris',
      'America/Santiago',
      'America/Havana',
      'Australia/Lord_Howe',
    ]) {
      const days = ['2026-01-01', '2026-12-31'];
      const year = resolveReloadWindow(days[0], days[1], zone);
      let cursor = year.fromMicros;
      for (let date = new Date('2026-01-01T00:00:00Z'); date.getUTCFullYear() === 2026;) {
        const iso = date.toISOString().slice(0, 10);
        const window = resolveReloadWindow(iso, iso, zone);
        assert.equal(window.fromMicros, cursor, `${zone} ${iso}`);
        cursor = window.toExclusiveMicros;
        date = new Date(date.getTime() + 86_400_000);
      }
      assert.equal(cursor, year.toExclusiveMicros, zone);
    }
  });
});

describe('time zone names', () => {
  test('IANA names are accepted, their letter case corrected, aliases kept', () => {
    assert.equal(normaliseTimeZone('UTC'), 'UTC');
    assert.equal(normaliseTimeZone('europe/paris'), 'Europe/Paris');
    assert.equal(normaliseTimeZone('Asia/Kolkata'), 'Asia/Kolkata');
    assert.equal(normaliseTimeZone('Etc/GMT+5'), 'Etc/GMT+5');
  });

  test('anything else is TIME_ZONE_INVALID naming timeZone and a valid example', () => {
    for (const value of ['Mars/Olympus', '', 'Europe/Paris ', '+05:00', 123, null, undefined]) {
      assert.throws(
        () => readTimeZone(value),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === 'TIME_ZONE_INVALID' &&
          error.fields[0]?.field === 'timeZone' &&
          error.message.includes('Europe/Paris'),
        JSON.stringify(value),
      );
    }
  });
});
