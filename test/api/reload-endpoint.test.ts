import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { connectionFields, createTestDatabase } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

const api = await startTestService('reload_endpoint');
const destination = await createTestDatabase('reload_endpoint_dest');
const admin = await api.tenant(7);
const connectorId = await api.connector(admin, destination.url);

const reload = (body: unknown, token = admin, id = connectorId) =>
  api.request('POST', `/v1/affiliates/connectors/${id}/reload`, { token, body });

describe('POST /v1/affiliates/connectors/{id}/reload', () => {
  test('answers 202 at once with the execution, its Location and the resolved window', async () => {
    const response = await reload({
      dataType: 'clicks',
      fromDate: '2017-11-07T00:00:00Z',
      toDate: '2017-11-07T23:59:59Z',
    });

    assert.equal(response.status, 202);
    assert.match(response.body.executionId, /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.location, `/v1/executions/${response.body.executionId}`);
    assert.equal(response.body.status, 'queued');
    assert.deepEqual(response.body.window, {
      from: '2017-11-07T00:00:00.000000Z',
      to: '2017-11-07T23:59:59.000000Z',
      timeZone: 'UTC',
    });

    const finished = await api.waitForExecution(response.body.executionId, admin);
    assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));
    assert.equal(finished.progress.chunksTotal, 1);
    assert.equal(finished.progress.percent, 100);
  });

  test('reloads clicks when dataType is absent or null; the repeat attaches to the first', async () => {
    const window = { fromDate: '2017-11-05', toDate: '2017-11-05' };
    const first = await reload(window);
    const repeat = await reload({ ...window, dataType: null });

    assert.equal(first.status, 202);
    assert.equal(first.body.dataType, 'clicks');
    assert.ok([200, 202].includes(repeat.status));
    if (repeat.status === 200) assert.equal(repeat.body.executionId, first.body.executionId);
    assert.equal(repeat.body.dataType, 'clicks');
  });

  test('a date-only toDate covers that whole day', async () => {
    const response = await reload({
      dataType: 'pageviews',
      fromDate: '2017-11-07',
      toDate: '2017-11-08',
    });

    assert.equal(response.status, 202);
    assert.deepEqual(response.body.window, {
      from: '2017-11-07T00:00:00.000000Z',
      to: '2017-11-08T23:59:59.999999Z',
      timeZone: 'UTC',
    });
  });

  test('a time without offset is UTC, and an offset is honoured', async () => {
    const response = await reload({
      dataType: 'conversions',
      fromDate: '2017-11-07T02:00:00+02:00',
      toDate: '2017-11-07T10:30:00.123456',
    });

    assert.deepEqual(response.body.window, {
      from: '2017-11-07T00:00:00.000000Z',
      to: '2017-11-07T10:30:00.123456Z',
      timeZone: 'UTC',
    });
  });

  test('dimensions ignore the dates, which may be absent', async () => {
    const response = await reload({ dataType: 'dimensions' });

    assert.equal(response.status, 202);
    assert.equal(response.body.window, null);
    const finished = await api.waitForExecution(response.body.executionId, admin);
    assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));
    assert.equal(finished.progress.chunksTotal, 5);
  });

  test("affiliateId in the body is ignored: it is always the connector's affiliate", async () => {
    const response = await reload({
      affiliateId: 9999,
      fromDate: '2017-11-07',
      toDate: '2017-11-07',
    });
    const execution = await api.request('GET', `/v1/executions/${response.body.executionId}`, {
      token: admin,
    });

    assert.equal(response.status, 202);
    assert.equal(execution.body.affiliateId, 7);
  });

  interface BadInput {
    name: string;
    body: Record<string, unknown>;
    code: string;
    field: string;
    detail: RegExp;
  }
  const badInputs: BadInput[] = [
    {
      name: 'an unknown dataType, listing the valid ones',
      body: { dataType: 'sales', fromDate: '2017-11-07', toDate: '2017-11-07' },
      code: 'RELOAD_DATA_TYPE_INVALID',
      field: 'dataType',
      detail: /clicks, conversions, pageviews, dimensions/,
    },
    {
      name: 'a missing fromDate',
      body: { dataType: 'clicks', toDate: '2017-11-07' },
      code: 'RELOAD_DATE_MISSING',
      field: 'fromDate',
      detail: /fromDate/,
    },
    {
      name: 'a missing toDate',
      body: { dataType: 'conversions', fromDate: '2017-11-07' },
      code: 'RELOAD_DATE_MISSING',
      field: 'toDate',
      detail: /toDate/,
    },
    {
      name: 'an unparseable date',
      body: { fromDate: '7 Nov 2017', toDate: '2017-11-07' },
      code: 'RELOAD_DATE_INVALID',
      field: 'fromDate',
      detail: /ISO 8601/,
    },
    {
      name: 'a date that does not exist',
      body: { fromDate: '2017-11-07', toDate: '2017-02-30' },
      code: 'RELOAD_DATE_INVALID',
      field: 'toDate',
      detail: /toDate/,
    },
    {
      name: 'a misspelt field, instead of reloading the default data type',
      body: { datatype: 'conversions', fromDate: '2017-11-07', toDate: '2017-11-07' },
      code: 'VALIDATION_FAILED',
      field: 'datatype',
      detail: /Unknown field datatype; a reload takes dataType, fromDate, toDate/,
    },
    {
      name: 'a field named like an object property',
      body: { toString: 'x', fromDate: '2017-11-07', toDate: '2017-11-07' },
      code: 'VALIDATION_FAILED',
      field: 'toString',
      detail: /Unknown field toString/,
    },
    {
      name: 'fromDate after toDate',
      body: { fromDate: '2017-11-08T00:00:00Z', toDate: '2017-11-07T23:59:59Z' },
      code: 'RELOAD_WINDOW_INVALID',
      field: 'fromDate',
      detail: /after toDate/,
    },
  ];

  for (const bad of badInputs) {
    test(`rejects ${bad.name} with a 400 problem naming the field`, async () => {
      const response = await reload(bad.body);

      assert.equal(response.status, 400);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(response.body.code, bad.code);
      assert.equal(response.body.status, 400);
      assert.equal(response.body.errors[0].field, bad.field);
      assert.match(response.body.detail, bad.detail);
    });
  }

  test('rejects malformed JSON with a 400 problem', async () => {
    const response = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
      token: admin,
      rawBody: '{"dataType": "clicks",',
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'BODY_MALFORMED');
  });

  test('a disabled connector answers 409', async () => {
    const destination = await createTestDatabase('reload_disabled_dest');
    const created = await api.request('POST', '/v1/affiliates/connectors', {
      token: admin,
      body: {
        affiliateId: 7,
        engine: 'PostgresSQL',
        useSsl: false,
        enabled: false,
        ...connectionFields(destination.url),
      },
    });
    const response = await reload(
      { fromDate: '2017-11-07', toDate: '2017-11-07' },
      admin,
      created.body.id,
    );

    assert.equal(response.status, 409);
    assert.equal(response.body.code, 'CONNECTOR_DISABLED');
  });

  describe('access', () => {
    const window = { fromDate: '2017-11-07', toDate: '2017-11-07' };

    test('401 without a token', async () => {
      const response = await api.request(
        'POST',
        `/v1/affiliates/connectors/${connectorId}/reload`,
        { body: window },
      );
      assert.equal(response.status, 401);
      assert.equal(response.body.code, 'AUTH_MISSING');
    });

    test('401 with a wrong token', async () => {
      const response = await reload(window, 'amk_not-a-real-token');
      assert.equal(response.status, 401);
      assert.equal(response.body.code, 'AUTH_INVALID');
    });

    test('403 for an AccountUser token', async () => {
      const user = await api.tenant(7, 'AccountUser');
      const response = await reload(window, user);
      assert.equal(response.status, 403);
      assert.equal(response.body.code, 'POLICY_FORBIDDEN');
    });

    test('403 when the affiliate lacks the database_connector feature', async () => {
      const featureless = await api.tenant(8, 'AccountAdmin', []);
      await api.store.pool.query(
        `UPDATE connectors SET affiliate_id = 8 WHERE id = (
           SELECT id FROM connectors WHERE affiliate_id = 7 ORDER BY id LIMIT 1)`,
      );
      try {
        const response = await reload(window, featureless);
        assert.equal(response.status, 403);
        assert.equal(response.body.code, 'FEATURE_DISABLED');
      } finally {
        await api.store.pool.query('UPDATE connectors SET affiliate_id = 7 WHERE affiliate_id = 8');
      }
    });

    test("404 for another affiliate's connector, and for one that does not exist", async () => {
      const other = await api.tenant(9);
      for (const [token, id] of [
        [other, connectorId],
        [admin, 987654],
      ] as const) {
        const response = await reload(window, token, id);
        assert.equal(response.status, 404);
        assert.equal(response.body.code, 'CONNECTOR_NOT_FOUND');
      }
    });
  });
});
