import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { startTestService } from '../support/service.ts';

const api = await startTestService('events_api', { worker: false });
const AFFILIATE = 31;
const writer = await api.tenant(AFFILIATE, 'TrackingWriter', []);
const admin = await api.tenant(AFFILIATE, 'AccountAdmin', []);
const user = await api.tenant(AFFILIATE, 'AccountUser', []);
const otherWriter = await api.tenant(32, 'TrackingWriter', []);

const url = `/v1/affiliates/${AFFILIATE}/events`;

function post(events: unknown[], token = writer, target = url) {
  return api.request('POST', target, { token, body: { events } });
}

/** A stored event with its time as exact UTC text and its amount as exact decimal text. */
async function stored(table: string, id: string): Promise<Record<string, any> | undefined> {
  const result = await api.store.pool.query(
    `SELECT *,
            to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
       FROM ${table} WHERE affiliate_id = $1 AND id = $2`,
    [AFFILIATE, id],
  );
  return result.rows[0];
}

const click = (id: string, extra: Record<string, unknown> = {}) => ({
  type: 'click',
  id,
  occurredAt: '2025-03-01T10:00:00Z',
  ...extra,
});

describe('POST /v1/affiliates/{affiliateId}/events', () => {
  test('stores a click, a conversion and a page view with every field', async () => {
    const response = await post([
      click('c-1', {
        brandId: 'b1',
        programId: 'p1',
        trafficSourceId: 't1',
        linkId: 'l1',
        ip: '203.0.113.9',
        device: 'mobile',
        os: 'Android',
        userAgent: 'Mozilla/5.0',
        referrer: 'https://example.com/',
      }),
      {
        type: 'conversion',
        id: 'v-1',
        occurredAt: '2025-03-01T10:05:00Z',
        clickId: 'c-1',
        brandId: 'b1',
        programId: 'p1',
        trafficSourceId: 't1',
        status: 'pending',
        amount: 19.99,
        currency: 'EUR',
      },
      {
        type: 'pageview',
        id: 'p-1',
        occurredAt: '2025-03-01T10:00:01Z',
        ip: '203.0.113.9',
        method: 'GET',
        path: '/landing?x=1',
        statusCode: 200,
        bytes: 5120,
        referrer: null,
        userAgent: 'Mozilla/5.0',
      },
    ]);

    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body, { accepted: 3, changed: 3, nulBytesStripped: 0, rejected: [] });

    const clickRow = await stored('clicks', 'c-1');
    assert.equal(clickRow?.at, '2025-03-01T10:00:00.000000Z');
    assert.equal(clickRow?.link_id, 'l1');
    assert.equal(clickRow?.user_agent, 'Mozilla/5.0');

    const conversion = await stored('conversions', 'v-1');
    assert.equal(conversion?.amount, '19.9900');
    assert.equal(conversion?.status, 'pending');
    assert.equal(conversion?.click_id, 'c-1');

    const pageview = await stored('pageviews', 'p-1');
    assert.equal(pageview?.status_code, 200);
    assert.equal(pageview?.bytes, 5120);
    assert.equal(pageview?.referrer, null);
  });

  test('updates a conversion whose status and amount change, with a new change_seq', async () => {
    const base = { type: 'conversion', id: 'v-2', occurredAt: '2025-03-02T08:00:00Z' };
    await post([{ ...base, status: 'pending', amount: '10.00', currency: 'USD' }]);
    const before = await stored('conversions', 'v-2');

    const response = await post([
      { ...base, status: 'approved', amount: '12.50', currency: 'USD' },
    ]);
    const after = await stored('conversions', 'v-2');

    assert.equal(response.body.changed, 1);
    assert.equal(after?.status, 'approved');
    assert.equal(after?.amount, '12.5000');
    assert.ok(Number(after?.change_seq) > Number(before?.change_seq));
  });

  test('an identical re-send changes nothing, not even change_seq', async () => {
    const events = [click('c-same', { brandId: 'b9', ip: '198.51.100.1' })];
    await post(events);
    const before = await stored('clicks', 'c-same');

    const response = await post(events);
    const after = await stored('clicks', 'c-same');

    assert.deepEqual(response.body, { accepted: 1, changed: 0, nulBytesStripped: 0, rejected: [] });
    assert.equal(after?.change_seq, before?.change_seq);
    assert.equal(after?.change_xid, before?.change_xid);
  });

  test('accepts a back-dated event', async () => {
    const response = await post([click('c-old', { occurredAt: '2015-06-30T23:59:59Z' })]);

    assert.equal(response.body.accepted, 1);
    assert.equal((await stored('clicks', 'c-old'))?.at, '2015-06-30T23:59:59.000000Z');
  });

  test('stores amounts exactly, given as JSON numbers or as strings', async () => {
    const conversion = (id: string, amount: string) =>
      `{"type":"conversion","id":"${id}","occurredAt":"2025-03-03T00:00:00Z","amount":${amount}}`;
    const rawBody = `{"events":[${[
      conversion('v-big', '12345678901234.5678'),
      conversion('v-small', '0.0001'),
      conversion('v-big-text', '"12345678901234.5678"'),
      conversion('v-negative', '-5.25'),
    ].join(',')}]}`;

    const response = await api.request('POST', url, { token: writer, rawBody });

    assert.equal(response.body.accepted, 4, JSON.stringify(response.body));
    assert.equal((await stored('conversions', 'v-big'))?.amount, '12345678901234.5678');
    assert.equal((await stored('conversions', 'v-small'))?.amount, '0.0001');
    assert.equal((await stored('conversions', 'v-big-text'))?.amount, '12345678901234.5678');
    assert.equal((await stored('conversions', 'v-negative'))?.amount, '-5.2500');
  });

  test('keeps occurredAt to the microsecond, converting offsets to UTC', async () => {
    await post([
      click('c-micro', { occurredAt: '2025-03-04T01:02:03.123456+02:00' }),
      click('c-nano', { occurredAt: '2025-03-04T23:59:59.999999999Z' }),
    ]);

    assert.equal((await stored('clicks', 'c-micro'))?.at, '2025-03-03T23:02:03.123456Z');
    assert.equal((await stored('clicks', 'c-nano'))?.at, '2025-03-04T23:59:59.999999Z');
  });

  test('reports bad items with their index and field, and keeps the valid ones', async () => {
    const response = await post([
      click('ok-0'),
      click('bad-1', { occurredAt: '2025-02-30T00:00:00Z' }),
      click('bad-2', { colour: 'red' }),
      { type: 'conversion', id: 'bad-3', occurredAt: '2025-03-01T00:00:00Z', amount: '1.00001' },
      { type: 'conversion', id: 'bad-4', occurredAt: '2025-03-01T00:00:00Z', amount: 1e16 },
      'not an event',
      { type: 'impression', id: 'bad-6', occurredAt: '2025-03-01T00:00:00Z' },
      { type: 'pageview', id: 'bad-7', occurredAt: '2025-03-01', statusCode: 200.5 },
      click(''),
      click('ok-9'),
    ]);

    assert.equal(response.status, 200);
    assert.equal(response.body.accepted, 2);
    const fields = response.body.rejected.map((r: any) => `${r.index}:${r.field}`);
    assert.deepEqual(fields, [
      '1:occurredAt',
      '2:colour',
      '3:amount',
      '4:amount',
      '5:event',
      '6:type',
      '7:occurredAt',
      '7:statusCode',
      '8:id',
    ]);
    assert.match(response.body.rejected[1].message, /not a field of click events/);
    assert.match(response.body.rejected[2].message, /more than 4 decimals/);
    assert.ok(await stored('clicks', 'ok-0'));
    assert.ok(await stored('clicks', 'ok-9'));
    assert.equal(await stored('clicks', 'bad-2'), undefined);
  });

  test('an occurredAt that is missing, unreadable or outside 1900..2999 is refused as such', async () => {
    const undated = { type: 'click', id: 'no-time' };
    const response = await post([
      undated,
      click('bad-time', { occurredAt: 'yesterday' }),
      click('too-early', { occurredAt: '0001-01-01T00:00:00Z' }),
      click('too-late', { occurredAt: '3000-01-01T00:00:00Z' }),
      click('first', { occurredAt: '1900-01-01T00:00:00Z' }),
      click('last', { occurredAt: '2999-12-31T23:59:59.999999Z' }),
    ]);

    assert.equal(response.body.accepted, 2);
    const messages = response.body.rejected.map((r: any) => `${r.index}: ${r.message}`);
    assert.match(messages[0], /^0: is required: an ISO 8601 date-time/);
    assert.match(messages[1], /^1: must be an ISO 8601 date-time .*; got "yesterday"/);
    assert.match(
      messages[2],
      /^2: must lie between 1900-01-01 and 2999-12-31 \(UTC\); got "0001-01-01/,
    );
    assert.match(messages[3], /^3: must lie between 1900-01-01 and 2999-12-31/);
  });

  test('a bytes count beyond the exact JSON integers is refused without quoting a rounded value', async () => {
    const response = await api.request('POST', url, {
      token: writer,
      // 2^53 + 1: JSON.parse would read it as 2^53.
      rawBody: JSON.stringify({
        events: [{ type: 'pageview', id: 'big', occurredAt: '2025-03-01T00:00:00Z', bytes: 1 }],
      }).replace('"bytes":1', '"bytes":9007199254740993'),
    });

    assert.equal(response.body.accepted, 0);
    assert.equal(response.body.rejected[0].field, 'bytes');
    assert.equal(
      response.body.rejected[0].message,
      'must be at most 9007199254740991, the largest exact JSON integer.',
    );
  });

  test('strips NUL characters from text and says so, but refuses them in an id', async () => {
    const response = await post([
      click('c-nul', { referrer: 'a\u0000b\u0000' }),
      click('c\u0000x'),
    ]);

    assert.equal(response.body.nulBytesStripped, 2);
    assert.deepEqual(
      response.body.rejected.map((r: any) => [r.index, r.field]),
      [[1, 'id']],
    );
    assert.equal((await stored('clicks', 'c-nul'))?.referrer, 'ab');
  });

  test('stores text with quotes, backslashes, braces and the word NULL as sent', async () => {
    const tricky = 'He said "hi" \\ {a,b} \n\t é 🎉';
    await post([click('c-"quoted"\\', { referrer: tricky, userAgent: 'NULL', os: '' })]);

    const row = await stored('clicks', 'c-"quoted"\\');
    assert.equal(row?.referrer, tricky);
    assert.equal(row?.user_agent, 'NULL');
    assert.equal(row?.os, '');
  });

  test('an id sent twice in one request keeps its last item', async () => {
    const response = await post([
      click('c-twice', { device: 'first' }),
      click('c-twice', { device: 'last' }),
    ]);

    assert.equal(response.status, 200);
    assert.equal((await stored('clicks', 'c-twice'))?.device, 'last');
  });

  test('accepts 10,000 events and refuses 10,001 naming events', async () => {
    // Long user agents make the body ~3 MB, past the server's default 1 MiB limit.
    const userAgent = `Mozilla/5.0 ${'x'.repeat(240)}`;
    const events = Array.from({ length: 10_000 }, (_, n) => click(`bulk-${n}`, { userAgent }));
    const accepted = await post(events);
    assert.equal(accepted.body.accepted, 10_000);

    const refused = await post([...events, click('bulk-extra')]);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'VALIDATION_FAILED');
    assert.equal(refused.body.errors[0].field, 'events');
  });

  test('refuses bodies of the wrong shape with a 400 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [[click('x')], 'body'],
      ['events', 'body'],
      [{}, 'events'],
      [{ events: 'click' }, 'events'],
      [{ events: [] }, 'events'],
      [{ events: [click('x')], extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const response = await api.request('POST', url, { token: writer, body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(response.body.code, 'VALIDATION_FAILED');
      assert.equal(response.body.errors[0].field, field);
    }

    const malformed = await api.request('POST', url, { token: writer, rawBody: '{"events": [' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'BODY_MALFORMED');
  });
});

describe('DELETE /v1/affiliates/{affiliateId}/events/{type}/{id}', () => {
  test('deletes an event (204), records the deletion, then answers 404', async () => {
    await post([click('c-gone')]);
    const target = `${url}/click/c-gone`;

    const deleted = await api.request('DELETE', target, { token: writer });
    assert.equal(deleted.status, 204);
    assert.equal(await stored('clicks', 'c-gone'), undefined);
    const tracked = await api.store.pool.query(
      `SELECT 1 FROM deleted_rows WHERE table_name = 'clicks' AND affiliate_id = $1 AND id = $2`,
      [AFFILIATE, 'c-gone'],
    );
    assert.equal(tracked.rowCount, 1);

    await post([click('c-gone-2')]);
    const withJsonType = await api.request('DELETE', `${url}/click/c-gone-2`, {
      token: writer,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(withJsonType.status, 204);

    const again = await api.request('DELETE', target, { token: writer });
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'EVENT_NOT_FOUND');
  });

  test('refuses an unknown type naming it', async () => {
    const response = await api.request('DELETE', `${url}/impression/x`, { token: writer });

    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].field, 'type');
  });

  test('refuses an id with NUL naming it (400), as ingest does', async () => {
    const response = await api.request('DELETE', `${url}/click/a%00b`, { token: writer });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(response.body.errors, [
      { field: 'id', message: 'must not contain NUL characters.' },
    ]);
  });

  test('deletes any id ingest accepts: 256 characters, 4-byte ones included', async () => {
    const longest = 'L'.repeat(150) + '😀'.repeat(53);
    assert.equal(longest.length, 256);
    assert.equal((await post([click(longest)])).body.accepted, 1);

    const deleted = await api.request('DELETE', `${url}/click/${encodeURIComponent(longest)}`, {
      token: writer,
    });
    assert.equal(deleted.status, 204);
    assert.equal(await stored('clicks', longest), undefined);

    const tooLong = await api.request('DELETE', `${url}/click/${'L'.repeat(257)}`, {
      token: writer,
    });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.errors[0].field, 'id');
  });
});

describe('URLs the router cannot read', () => {
  test('a path that is not valid percent-encoding is a problem+json 400', async () => {
    const response = await api.request('GET', '/v1/executions/%ZZ', { token: admin });

    assert.equal(response.status, 400);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.body.code, 'URL_MALFORMED');
  });

  test('a path segment over the router limit is a problem+json 414', async () => {
    const response = await api.request('GET', `/v1/executions/${'9'.repeat(4000)}`, {
      token: admin,
    });

    assert.equal(response.status, 414);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.body.code, 'URL_SEGMENT_TOO_LONG');
  });
});

describe('events API access', () => {
  test('needs a token (401), checked before the body is read', async () => {
    const response = await api.request('POST', url, { body: { events: [click('a')] } });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'AUTH_MISSING');

    const malformed = await api.request('POST', url, { rawBody: '{"events": [' });
    assert.equal(malformed.status, 401);

    const deletion = await api.request('DELETE', `${url}/click/c-1`, { token: 'amk_unknown' });
    assert.equal(deletion.status, 401);
    assert.equal(deletion.body.code, 'AUTH_INVALID');
  });

  test('refuses AccountUser tokens (403) and accepts AccountAdmin ones', async () => {
    const refused = await post([click('by-user')], user);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'POLICY_FORBIDDEN');

    const allowed = await post([click('by-admin')], admin);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.accepted, 1);
  });

  test("refuses another affiliate's token and an unknown affiliate alike (403)", async () => {
    const forbidden = await post([click('x')], otherWriter);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'AFFILIATE_FORBIDDEN');

    const deleteForbidden = await api.request('DELETE', `${url}/click/c-1`, { token: otherWriter });
    assert.equal(deleteForbidden.status, 403);

    // Whether affiliate 999999 exists is none of this token's business.
    const missing = await post([click('x')], writer, '/v1/affiliates/999999/events');
    assert.equal(missing.status, 403);
    assert.equal(missing.body.code, 'AFFILIATE_FORBIDDEN');
    const deleteMissing = await api.request('DELETE', '/v1/affiliates/999999/events/click/c-1', {
      token: writer,
    });
    assert.equal(deleteMissing.status, 403);
    assert.equal(deleteMissing.body.code, 'AFFILIATE_FORBIDDEN');

    const invalid = await post([click('x')], writer, '/v1/affiliates/abc/events');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.errors[0].field, 'affiliateId');
  });

  test('the routes are in the OpenAPI document', async () => {
    const response = await api.request('GET', '/openapi.json');
    const paths = Object.keys(response.body.paths);

    assert.ok(paths.includes('/v1/affiliates/{affiliateId}/events'));
    assert.ok(paths.includes('/v1/affiliates/{affiliateId}/events/{type}/{id}'));
  });
});

describe('malformed Unicode', () => {
  test('an id or text with a lone surrogate is one rejected item; the valid items are kept', async () => {
    const token = await api.tenant(31, 'TrackingWriter');
    const response = await api.request('POST', '/v1/affiliates/31/events', {
      token,
      rawBody:
        '{"events":[' +
        '{"type":"click","id":"s-\\ud800","occurredAt":"2026-01-01T00:00:00Z"},' +
        '{"type":"click","id":"ok-1","occurredAt":"2026-01-01T00:00:00Z","userAgent":"x\\udbff"},' +
        '{"type":"click","id":"ok-2","occurredAt":"2026-01-01T00:00:00Z"}]}',
    });

    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.accepted, 1);
    assert.deepEqual(
      response.body.rejected.map((r: { index: number; field: string }) => [r.index, r.field]),
      [
        [0, 'id'],
        [1, 'userAgent'],
      ],
    );
  });
});
