import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createToken } from '../../src/store/tokens-store.ts';
import { createTestDatabase } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

/** GET / PATCH /v1/affiliates/{id}: the affiliate's time zone, and reloads that echo it. */

const api = await startTestService('affiliate_time_zone', { worker: false });
const destination = await createTestDatabase('affiliate_time_zone_dest');
const admin = await api.tenant(7);
const otherAdmin = await api.tenant(8);
const user = await createToken(api.store.pool, 'AccountUser', [7]);
const connectorId = await api.connector(admin, destination.url);

const patch = (body: unknown, token = admin, id = 7) =>
  api.request('PATCH', `/v1/affiliates/${id}`, { token, body });
const reload = (body: unknown) =>
  api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, { token: admin, body });

describe('GET and PATCH /v1/affiliates/{id}', () => {
  test('an affiliate starts in UTC', async () => {
    const response = await api.request('GET', '/v1/affiliates/7', { token: admin });

    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      id: 7,
      name: 'Affiliate 7',
      features: ['database_connector'],
      timeZone: 'UTC',
    });
  });

  test('PATCH sets the zone, GET reads it back', async () => {
    const patched = await patch({ timeZone: 'Europe/Paris' });
    const read = await api.request('GET', '/v1/affiliates/7', { token: admin });

    assert.equal(patched.status, 200);
    assert.equal(patched.body.timeZone, 'Europe/Paris');
    assert.equal(read.body.timeZone, 'Europe/Paris');
  });

  for (const timeZone of ['Mars/Olympus', '', 123]) {
    test(`PATCH refuses ${JSON.stringify(timeZone)} with TIME_ZONE_INVALID on timeZone`, async () => {
      const response = await patch({ timeZone });

      assert.equal(response.status, 400);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      assert.equal(response.body.code, 'TIME_ZONE_INVALID');
      assert.equal(response.body.errors[0].field, 'timeZone');
      assert.match(response.body.errors[0].message, /Europe\/Paris/);
      assert.ok(response.body.errors[0].message.endsWith(`got ${JSON.stringify(timeZone)}.`));
    });
  }

  test('PATCH refuses fields other than timeZone', async () => {
    const response = await patch({ name: 'renamed' });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'VALIDATION_FAILED');
    assert.equal(response.body.errors[0].field, 'name');
  });

  test('no token is 401; AccountUser and another affiliate admin are 403', async () => {
    const anonymous = await api.request('PATCH', '/v1/affiliates/7', { body: { timeZone: 'UTC' } });
    const asUser = await patch({ timeZone: 'UTC' }, user);
    const asOther = await patch({ timeZone: 'UTC' }, otherAdmin);
    const otherReads = await api.request('GET', '/v1/affiliates/7', { token: otherAdmin });
    const userReads = await api.request('GET', '/v1/affiliates/7', { token: user });

    assert.equal(anonymous.status, 401);
    assert.equal(asUser.status, 403);
    assert.equal(asUser.body.code, 'POLICY_FORBIDDEN');
    assert.equal(asOther.status, 403);
    assert.equal(asOther.body.code, 'AFFILIATE_FORBIDDEN');
    assert.equal(otherReads.status, 403);
    assert.equal(userReads.status, 403);
    const still = await api.request('GET', '/v1/affiliates/7', { token: admin });
    assert.equal(still.body.timeZone, 'Europe/Paris');
  });

  test('the routes are in the OpenAPI document', async () => {
    const document = await api.request('GET', '/openapi.json');
    const path = document.body.paths['/v1/affiliates/{id}'];

    assert.ok(path.get && path.patch);
    assert.ok(path.patch.responses['400'].content['application/problem+json']);
  });
});

describe('reloads in the affiliate time zone', () => {
  test('the 202 echoes the zone and the UTC instants of the local days', async () => {
    await patch({ timeZone: 'Europe/Paris' });
    const response = await reload({
      dataType: 'clicks',
      fromDate: '2026-03-29',
      toDate: '2026-03-29',
    });

    assert.equal(response.status, 202);
    assert.deepEqual(response.body.window, {
      from: '2026-03-28T23:00:00.000000Z',
      to: '2026-03-29T21:59:59.999999Z',
      timeZone: 'Europe/Paris',
    });
  });

  test('an execution keeps its window and zone when the affiliate changes zone later', async () => {
    await patch({ timeZone: 'Europe/Paris' });
    const queued = await reload({
      dataType: 'pageviews',
      fromDate: '2026-10-25',
      toDate: '2026-10-25',
    });
    await patch({ timeZone: 'Asia/Kolkata' });
    const execution = await api.request('GET', `/v1/executions/${queued.body.executionId}`, {
      token: admin,
    });

    assert.deepEqual(execution.body.window, {
      from: '2026-10-24T22:00:00.000000Z',
      to: '2026-10-25T22:59:59.999999Z',
      timeZone: 'Europe/Paris',
    });
  });

  test('date-times keep their meaning whatever the zone', async () => {
    await patch({ timeZone: 'Pacific/Chatham' });
    const response = await reload({
      dataType: 'conversions',
      fromDate: '2026-03-29T02:00:00+02:00',
      toDate: '2026-03-29T10:30:00.123456',
    });

    assert.deepEqual(response.body.window, {
      from: '2026-03-29T00:00:00.000000Z',
      to: '2026-03-29T10:30:00.123456Z',
      timeZone: 'Pacific/Chatham',
    });
  });
});
