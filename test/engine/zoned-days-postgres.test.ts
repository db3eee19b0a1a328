import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { formatMicros, resolveReloadWindow } from '../../src/engine/reload-window.ts';
import { createTestDatabase } from '../support/databases.ts';

/**
 * Where a local day begins, checked against PostgreSQL's own time zone database (compiled into
 * the server, independent of Node's ICU data): for every day of three years in zones with
 * quarter-hour offsets, half-hour DST, DST at midnight and southern-hemisphere DST.
 */

const database = await createTestDatabase('zoned_days');

const FIRST_DAY = '2024-01-01';
const LAST_DAY = '2026-12-31';

interface PostgresDay {
  day: string;
  /** PostgreSQL's reading of local midnight; the later one when midnight happens twice. */
  midnight: string;
  /** The local date just before and at our first instant of the day. */
  dateBefore: string;
  dateAt: string;
}

async function postgresDays(zone: string, starts: string[]): Promise<PostgresDay[]> {
  const result = await database.pool.query<PostgresDay>(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day,
            to_char(d::timestamp AT TIME ZONE $1 AT TIME ZONE 'UTC',
                    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS midnight,
            to_char((s.start - interval '1 microsecond') AT TIME ZONE $1, 'YYYY-MM-DD')
              AS "dateBefore",
            to_char(s.start AT TIME ZONE $1, 'YYYY-MM-DD') AS "dateAt"
       FROM unnest($2::timestamptz[]) WITH ORDINALITY AS s (start, n)
       JOIN generate_series($3::date, $4::date, interval '1 day') WITH ORDINALITY AS g (d, n)
         USING (n)
      ORDER BY n`,
    [zone, starts, FIRST_DAY, LAST_DAY],
  );
  return result.rows;
}

function ourDayStarts(zone: string): string[] {
  const starts: string[] = [];
  for (let at = Date.parse(FIRST_DAY); at <= Date.parse(LAST_DAY); at += 86_400_000) {
    const date = new Date(at).toISOString().slice(0, 10);
    starts.push(formatMicros(resolveReloadWindow(date, date, zone).fromMicros));
  }
  return starts;
}

describe('local day starts agree with PostgreSQL', () => {
  const zones = [
    'Europe/Paris',
    'America/New_York',
    'Asia/Kolkata',
    'Pacific/Chatham',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Asia/Beirut',
    'Australia/Sydney',
  ];

  for (const zone of zones) {
    test(`${zone}: each day starts at PostgreSQL's local midnight`, async () => {
      const starts = ourDayStarts(zone);
      const days = await postgresDays(zone, starts);

      assert.equal(days.length, starts.length);
      days.forEach((day, index) => assert.equal(starts[index], day.midnight, `${zone} ${day.day}`));
    });
  }

  test('America/Havana: each day starts at its first instant, even when midnight repeats', async () => {
    const starts = ourDayStarts('America/Havana');
    const days = await postgresDays('America/Havana', starts);
    const differing = days.filter((day, index) => starts[index] !== day.midnight);

    for (const day of days) {
      assert.equal(day.dateAt, day.day, day.day);
      assert.ok(day.dateBefore < day.day, day.day);
    }
    // Only the fall-back days differ: PostgreSQL takes the second midnight, we the first.
    assert.deepEqual(
      differing.map((day) => day.day),
      ['2024-11-03', '2025-11-02', '2026-11-01'],
    );
  });
});
