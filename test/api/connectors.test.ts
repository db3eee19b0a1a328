import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import pg from 'pg';

import { connectionFields, createTestDatabase, testServerUrl } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

const api = await startTestService('connectors_api');
const destination = await createTestDatabase('connectors_api_dest');
const admin = await api.tenant(7);
const fields = connectionFields(destination.url);
const body = { affiliateId: 7, engine: 'PostgresSQL', useSsl: false, ...fields };

async function createConnector(overrides: Record<string, unknown> = {}) {
  const response = await api.request('POST', '/v1/affiliates/connectors', {
    token: admin,
    body: { ...body, ...overrides },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response;
}

describe('connectors API', () => {
  test('creates a connector: 201, Location, defaults, and never the password', async () => {
    const response = await createConnector();

    assert.equal(response.headers.location, `/v1/affiliates/connectors/${response.body.id}`);
    assert.equal(response.body.schema, 'public');
    assert.equal(response.body.enabled, true);
    assert.equal(response.body.password, undefined);
    assert.ok(!JSON.stringify(response.body).includes(fields.password));
  });

  test('stores the password encrypted, not in clear', async () => {
    const { body: connector } = await createConnector({ password: fields.password });
    const stored = await api.store.pool.query<{ password_encrypted: Buffer }>(
      'SELECT password_encrypted FROM connectors WHERE id = $1',
      [connector.id],
    );
    const raw = stored.rows[0]!.password_encrypted;

    assert.ok(raw.length > fields.password.length);
    assert.equal(raw.includes(Buffer.from(fields.password)), false);
  });

  test('reads, lists with filters, replaces and deletes', async () => {
    const { body: first } = await createConnector({ schema: 'mirror_a' });
    const { body: disabled } = await createConnector({ enabled: false });

    const read = await api.request('GET', `/v1/affiliates/connectors/${first.id}`, {
      token: admin,
    });
    assert.equal(read.status, 200);
    assert.equal(read.body.schema, 'mirror_a');

    const enabledOnly = await api.request(
      'GET',
      '/v1/affiliates/connectors?AffiliateId=7&Enabled=true',
      { token: admin },
    );
    const ids = enabledOnly.body.items.map((item: { id: number }) => item.id);
    assert.ok(ids.includes(first.id));
    assert.ok(!ids.includes(disabled.id));

    const replaced = await api.request('PUT', `/v1/affiliates/connectors/${first.id}`, {
      token: admin,
      body: { ...body, password: undefined, schema: 'mirror_b', enabled: false },
    });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.schema, 'mirror_b');
    assert.equal(replaced.body.enabled, false);

    const deleted = await api.request('DELETE', `/v1/affiliates/connectors/${first.id}`, {
      token: admin,
    });
    assert.equal(deleted.status, 204);
    const gone = await api.request('GET', `/v1/affiliates/connectors/${first.id}`, {
      token: admin,
    });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'CONNECTOR_NOT_FOUND');
  });

  test('changing the password keeps the connector and its executions', async () => {
    const { body: connector } = await createConnector();
    const reload = await api.request('POST', `/v1/affiliates/connectors/${connector.id}/reload`, {
      token: admin,
      body: { dataType: 'dimensions' },
    });
    await api.waitForExecution(reload.body.executionId, admin);

    const updated = await api.request('PUT', `/v1/affiliates/connectors/${connector.id}`, {
      token: admin,
      body: { ...body, password: 'a-new-password' },
    });
    const executions = await api.request(
      'GET',
      `/v1/affiliates/connectors/${connector.id}/executions`,
      { token: admin },
    );

    assert.equal(updated.body.id, connector.id);
    assert.deepEqual(
      executions.body.items.map((item: { executionId: string }) => item.executionId),
      [reload.body.executionId],
    );
  });

  test('a PUT without password keeps the stored one working', async () => {
    const { body: connector } = await createConnector();
    await api.request('PUT', `/v1/affiliates/connectors/${connector.id}`, {
      token: admin,
      body: { ...body, password: undefined, host: fields.host },
    });
    const tested = await api.request(
      'POST',
      `/v1/affiliates/connectors/${connector.id}/test-connection`,
      { token: admin },
    );

    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    assert.equal(tested.body.ok, true);
  });

  test('a bad field is a 400 problem naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ port: 'abc' }, 'port'],
      [{ port: 70000 }, 'port'],
      [{ engine: 'MySql' }, 'engine'],
      [{ host: undefined }, 'host'],
      [{ schema: 'bad schema; drop' }, 'schema'],
      [{ colour: 'blue' }, 'colour'],
    ];
    for (const [override, field] of cases) {
      const response = await api.request('POST', '/v1/affiliates/connectors', {
        token: admin,
        body: { ...body, ...override },
      });
      assert.equal(response.status, 400, `${field}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'VALIDATION_FAILED');
      assert.ok(
        response.body.errors.some((error: { field: string }) => error.field === field),
        `${field} not named in ${JSON.stringify(response.body.errors)}`,
      );
    }
  });

  test('creating for an affiliate the token cannot see is forbidden', async () => {
    await api.tenant(9);
    const response = await api.request('POST', '/v1/affiliates/connectors', {
      token: admin,
      body: { ...body, affiliateId: 9 },
    });

    assert.equal(response.status, 403);
    assert.equal(response.body.code, 'AFFILIATE_FORBIDDEN');
  });
});

describe('test-connection', () => {
  test('succeeds against a reachable database where tables can be created', async () => {
    const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
      token: admin,
      body,
    });

    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.ok, true);
    const saved = await api.store.pool.query(
      'SELECT count(*)::int AS n FROM connectors WHERE schema = $1',
      ['never_saved'],
    );
    assert.equal(saved.rows[0].n, 0);
  });

  test('a wrong password is a 400 with the reason and without the password', async () => {
    const wrong = 'Wrong-Password-4711';
    const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
      token: admin,
      body: { ...body, password: wrong },
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'CONNECTION_TEST_FAILED');
    assert.match(response.body.detail, /password authentication failed/);
    assert.ok(!JSON.stringify(response.body).includes(wrong));
  });

  test('a refused port is a 400 within seconds', async () => {
    const started = Date.now();
    const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
      token: admin,
      body: { ...body, port: 1 },
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'CONNECTION_TEST_FAILED');
    assert.ok(Date.now() - started < 15_000);
  });

  test('a user without CREATE permission is a 400 saying so', async () => {
    const admin_ = new pg.Client({ connectionString: testServerUrl() });
    await admin_.connect();
    await admin_.query(`DROP ROLE IF EXISTS mirror_reader`).catch(() => undefined);
    await admin_.query(`CREATE ROLE mirror_reader LOGIN PASSWORD 'reader-pass-1'`);
    await admin_.end();

    const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
      token: admin,
      body: {
        ...body,
        username: 'mirror_reader',
        password: 'reader-pass-1',
        schema: 'reader_schema',
      },
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'CONNECTION_TEST_FAILED');
    assert.match(response.body.detail, /permission denied/i);
  });
});

describe('OpenAPI', () => {
  test('GET /openapi.json describes the connector and reload routes', async () => {
    const response = await api.request('GET', '/openapi.json');

    assert.equal(response.status, 200);
    assert.equal(response.body.openapi, '3.1.0');
    assert.ok(response.body.paths['/v1/affiliates/connectors/{id}/reload'].post);
    assert.ok(response.body.paths['/v1/executions/{executionId}'].get);
    assert.ok(response.body.components.securitySchemes.ApiKey);
  });
});
