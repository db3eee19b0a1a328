/**
 * Ordinary data that tools of this kind are known to lose or corrupt, taken end to end: in
 * through the events API (or SQL, for dimensions), out through a reload, and read back from the
 * destination in canonical form. The same cases run for every destination engine under test;
 * an engine whose server is not available here is skipped, saying why.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { dimensionTables, eventTables, type MirrorTable } from '../../src/mirror/tables.ts';
import {
  enginesUnderTest,
  postgresCanonicalRows,
  type CanonicalRow,
  type SchemaUnderTest,
} from '../destinations/engines-under-test.ts';
import { startTestService } from '../support/service.ts';

const api = await startTestService('hard_data');
const brands = dimensionTables.find((table) => table.name === 'brands')!;
const links = dimensionTables.find((table) => table.name === 'links')!;

/** Each case gets an affiliate of its own, so a mirror table holds exactly that case's rows. */
let nextAffiliate = 400;

interface Case {
  affiliateId: number;
  token: string;
  connectorId: number;
  destination: SchemaUnderTest;
}

async function newCase(destination: SchemaUnderTest): Promise<Case> {
  const affiliateId = nextAffiliate++;
  const token = await api.tenant(affiliateId);
  const { settings } = destination;
  const created = await api.request('POST', '/v1/affiliates/connectors', {
    token,
    body: {
      affiliateId,
      engine: settings.engine,
      host: settings.host,
      port: settings.port,
      database: settings.database,
      schema: settings.schema,
      username: settings.username,
      password: settings.password.reveal(),
      useSsl: settings.useSsl,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { affiliateId, token, destination, connectorId: created.body.id as number };
}

async function ingest(c: Case, events: unknown[]) {
  const response = await api.request('POST', `/v1/affiliates/${c.affiliateId}/events`, {
    token: c.token,
    body: { events },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

async function reload(c: Case, body: Record<string, unknown>) {
  const accepted = await api.request('POST', `/v1/affiliates/connectors/${c.connectorId}/reload`, {
    token: c.token,
    body,
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  const execution = await api.waitForExecution(accepted.body.executionId, c.token);
  assert.equal(execution.status, 'succeeded', JSON.stringify(execution.error));
  return execution;
}

/** The source's rows, canonical, optionally limited to a half-open range of event time. */
function sourceRows(c: Case, table: MirrorTable, range?: { from: string; toExclusive: string }) {
  return postgresCanonicalRows(api.store.pool, `"${table.name}"`, table, c.affiliateId, range);
}

function column(table: MirrorTable, rows: CanonicalRow[], id: string, name: string) {
  const index = table.columns.findIndex((c) => c.name === name);
  const row = rows.find((r) => r[1] === id);
  assert.ok(row, `no row ${id} in ${table.name}`);
  return row[index];
}

const clicks = eventTables.clicks;
const conversions = eventTables.conversions;
const click = (id: string, occurredAt: string, extra: Record<string, unknown> = {}) => ({
  type: 'click',
  id,
  occurredAt,
  ...extra,
});

for (const engine of enginesUnderTest) {
  describe(`hard data, ${engine.engine} destination`, { skip: engine.skipReason }, async () => {
    const destination = engine.skipReason
      ? undefined
      : await engine.createSchema(`hard_data_${engine.engine}`);
    const open = () => newCase(destination!);

    test('4-byte UTF-8 and right-to-left text arrive unchanged; NUL is stripped and counted at ingest, or the item refused when it is in the id', async () => {
      const c = await open();
      const emoji = 'thumbs 👍🏽 family 👨‍👩‍👧 math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 cjk 𠜎𠜱';
      const rtl = 'שלום עולם \u200f مرحبا بالعالم \u202bembedded\u202c';
      const accepted = await ingest(c, [
        click('emoji', '2024-05-01T10:00:00Z', { userAgent: emoji }),
        click('rtl', '2024-05-01T10:00:01Z', { referrer: rtl, device: rtl }),
        click('nul', '2024-05-01T10:00:02Z', { userAgent: 'Mozilla\u0000/5.0' }),
        click('bad\u0000id', '2024-05-01T10:00:03Z'),
      ]);

      assert.equal(accepted.accepted, 3);
      assert.equal(accepted.nulBytesStripped, 1);
      assert.equal(accepted.rejected.length, 1);
      assert.equal(accepted.rejected[0].index, 3);
      assert.match(JSON.stringify(accepted.rejected[0]), /NUL/);

      await reload(c, { fromDate: '2024-05-01', toDate: '2024-05-01' });
      const mirrored = await destination!.readRows(clicks, c.affiliateId);

      assert.deepEqual(mirrored, await sourceRows(c, clicks));
      assert.equal(column(clicks, mirrored, 'emoji', 'user_agent'), emoji);
      assert.equal(column(clicks, mirrored, 'rtl', 'referrer'), rtl);
      assert.equal(column(clicks, mirrored, 'nul', 'user_agent'), 'Mozilla/5.0');
    });

    test('strings of 4,000, 4,001 and 100,000 characters and an 8 KB URL arrive whole', async () => {
      const c = await open();
      const url = `https://example.com/landing?${'q=%F0%9F%91%8D&'.repeat(600)}`.slice(0, 8192);
      const lengths = { s4000: 4000, s4001: 4001, s100k: 100_000 };
      await ingest(c, [
        ...Object.entries(lengths).map(([id, length], i) =>
          click(id, `2024-05-02T00:00:0${i}Z`, { userAgent: 'é'.repeat(length) }),
        ),
        click('url', '2024-05-02T00:00:05Z', { referrer: url }),
      ]);
      await api.store.pool.query(`INSERT INTO links (affiliate_id, id, url) VALUES ($1, $2, $3)`, [
        c.affiliateId,
        'long-link',
        url,
      ]);

      await reload(c, { fromDate: '2024-05-02', toDate: '2024-05-02' });
      await reload(c, { dataType: 'dimensions' });
      const mirrored = await destination!.readRows(clicks, c.affiliateId);
      const mirroredLinks = await destination!.readRows(links, c.affiliateId);

      assert.deepEqual(mirrored, await sourceRows(c, clicks));
      for (const [id, length] of Object.entries(lengths)) {
        assert.equal(column(clicks, mirrored, id, 'user_agent')?.length, length, id);
      }
      assert.equal(url.length, 8192);
      assert.equal(column(clicks, mirrored, 'url', 'referrer'), url);
      assert.equal(column(links, mirroredLinks, 'long-link', 'url'), url);
    });

    test('amounts like 12345678901234.5678 and 0.0001 arrive exactly', async () => {
      const c = await open();
      const amounts = {
        big: '12345678901234.5678',
        tiny: '0.0001',
        negative: '-0.0001',
        most: '999999999999999.9999',
        zero: '0',
      };
      // Raw JSON, so the amounts are numbers that a double could not carry exactly.
      const events = Object.entries(amounts).map(
        ([id, amount]) =>
          `{"type":"conversion","id":"${id}","occurredAt":"2024-05-03T12:00:00Z","amount":${amount},"currency":"EUR"}`,
      );
      const response = await api.request('POST', `/v1/affiliates/${c.affiliateId}/events`, {
        token: c.token,
        rawBody: `{"events":[${events.join(',')}]}`,
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));

      await reload(c, { dataType: 'conversions', fromDate: '2024-05-03', toDate: '2024-05-03' });
      const mirrored = await destination!.readRows(conversions, c.affiliateId);

      assert.deepEqual(mirrored, await sourceRows(c, conversions));
      assert.equal(column(conversions, mirrored, 'big', 'amount'), '12345678901234.5678');
      assert.equal(column(conversions, mirrored, 'tiny', 'amount'), '0.0001');
      assert.equal(column(conversions, mirrored, 'negative', 'amount'), '-0.0001');
      assert.equal(column(conversions, mirrored, 'most', 'amount'), '999999999999999.9999');
      assert.equal(column(conversions, mirrored, 'zero', 'amount'), '0.0000');
    });

    test('microseconds are kept and both window ends are inclusive, a date-only toDate to the last microsecond of its day', async () => {
      const c = await open();
      await ingest(c, [
        click('before-from', '2024-02-28T23:59:59.999999Z'),
        click('at-from', '2024-02-29T00:00:00.000000Z'),
        click('micro', '2024-02-29T13:14:15.123456Z'),
        click('last-micro', '2024-02-29T23:59:59.999999Z'),
        click('next-day', '2024-03-01T00:00:00.000000Z'),
      ]);

      await reload(c, { fromDate: '2024-02-29T00:00:00Z', toDate: '2024-02-29' });
      const wholeDay = (await destination!.readRows(clicks, c.affiliateId)).map((r) => r[1]);

      assert.deepEqual(wholeDay, ['at-from', 'last-micro', 'micro']);
      const mirrored = await destination!.readRows(clicks, c.affiliateId);
      assert.equal(column(clicks, mirrored, 'micro', 'occurred_at'), '2024-02-29T13:14:15.123456Z');
      assert.equal(
        column(clicks, mirrored, 'last-micro', 'occurred_at'),
        '2024-02-29T23:59:59.999999Z',
      );

      // An explicit toDate is inclusive to the microsecond: the event exactly there is in.
      await reload(c, {
        fromDate: '2024-02-28T23:59:59.999999Z',
        toDate: '2024-02-28T23:59:59.999999Z',
      });
      const withEdge = (await destination!.readRows(clicks, c.affiliateId)).map((r) => r[1]);
      assert.deepEqual(withEdge, ['at-from', 'before-from', 'last-micro', 'micro']);
    });

    test('the same event id twice in one request is one row, the last version', async () => {
      const c = await open();
      await ingest(c, [
        click('twice', '2024-05-04T08:00:00Z', { device: 'first' }),
        click('twice', '2024-05-04T09:00:00Z', { device: 'last' }),
      ]);

      await reload(c, { fromDate: '2024-05-04', toDate: '2024-05-04' });
      const mirrored = await destination!.readRows(clicks, c.affiliateId);

      assert.equal(mirrored.length, 1);
      assert.equal(column(clicks, mirrored, 'twice', 'device'), 'last');
      assert.equal(column(clicks, mirrored, 'twice', 'occurred_at'), '2024-05-04T09:00:00.000000Z');
    });

    test('an empty window succeeds and empties that window of the mirror, nothing else', async () => {
      const c = await open();
      await ingest(c, [
        click('gone', '2024-05-05T08:00:00Z'),
        click('kept', '2024-05-06T08:00:00Z'),
      ]);
      await reload(c, { fromDate: '2024-05-05', toDate: '2024-05-06' });
      const deleted = await api.request(
        'DELETE',
        `/v1/affiliates/${c.affiliateId}/events/click/gone`,
        { token: c.token },
      );
      assert.ok(deleted.status < 300, JSON.stringify(deleted.body));

      const execution = await reload(c, { fromDate: '2024-05-05', toDate: '2024-05-05' });
      const ids = (await destination!.readRows(clicks, c.affiliateId)).map((r) => r[1]);

      assert.deepEqual(ids, ['kept']);
      assert.equal(execution.progress.rowsWritten, 0);
      assert.equal(execution.progress.rowsDeleted, 1);
    });

    test('a window of ten years mirrors its scattered rows exactly, in few chunks', async () => {
      const c = await open();
      const times = [
        '2015-01-01T00:00:00Z',
        '2017-07-07T07:07:07.070707Z',
        '2024-12-31T23:59:59.999999Z',
      ];
      await ingest(c, [
        ...times.map((at, i) => click(`decade-${i}`, at)),
        click('after', '2025-01-01T00:00:00Z'),
      ]);

      const execution = await reload(c, { fromDate: '2015-01-01', toDate: '2024-12-31' });
      const mirrored = await destination!.readRows(clicks, c.affiliateId);

      const range = { from: '2015-01-01T00:00:00Z', toExclusive: '2025-01-01T00:00:00Z' };
      assert.deepEqual(mirrored, await sourceRows(c, clicks, range));
      assert.equal(mirrored.length, 3);
      assert.ok(execution.progress.chunksTotal <= 10, `${execution.progress.chunksTotal} chunks`);
    });

    test('dimensions whose names change and whose rows disappear are merged exactly', async () => {
      const c = await open();
      const insert = (id: string, name: string) =>
        api.store.pool.query(`INSERT INTO brands (affiliate_id, id, name) VALUES ($1, $2, $3)`, [
          c.affiliateId,
          id,
          name,
        ]);
      await insert('b1', 'Acme');
      await insert('b2', 'Globex');
      await insert('b3', 'Initech');
      const first = await reload(c, { dataType: 'dimensions' });
      assert.equal(first.progress.rowsInserted, 3);

      await api.store.pool.query(
        `UPDATE brands SET name = 'Acme Corporation ✓' WHERE affiliate_id = $1 AND id = 'b1'`,
        [c.affiliateId],
      );
      await api.store.pool.query(`DELETE FROM brands WHERE affiliate_id = $1 AND id = 'b2'`, [
        c.affiliateId,
      ]);
      const second = await reload(c, { dataType: 'dimensions' });
      const mirrored = await destination!.readRows(brands, c.affiliateId);

      assert.deepEqual(mirrored, await sourceRows(c, brands));
      assert.deepEqual(
        mirrored.map((row) => [row[1], row[2]]),
        [
          ['b1', 'Acme Corporation ✓'],
          ['b3', 'Initech'],
        ],
      );
      assert.equal(second.progress.rowsInserted, 0);
      assert.equal(second.progress.rowsUpdated, 1);
      assert.equal(second.progress.rowsDeleted, 1);
    });
  });
}
