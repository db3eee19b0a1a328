import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import pg from 'pg';

import { connectionFields, createTestDatabase, testServerUrl } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';
import { freePort } from '../support/ports.ts';
import { startTdsResponder } from '../support/tds-responder.ts';

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
      [{ host: '/var/run/postgresql' }, 'host'],
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

  test('a host that is a socket path is refused by test-connection too', async () => {
    const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
      token: admin,
      body: { ...body, host: '/tmp' },
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].field, 'host');
    assert.match(response.body.detail, /socket path/);
  });

  test('a value of the wrong JSON type is refused, not converted', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ port: String(body.port) }, 'port'],
      [{ port: [body.port] }, 'port'],
      [{ useSsl: 0 }, 'useSsl'],
      [{ useSsl: 'false' }, 'useSsl'],
      [{ password: 12345 }, 'password'],
      [{ affiliateId: true }, 'affiliateId'],
    ];
    for (const path of ['/v1/affiliates/connectors', '/v1/affiliates/connectors/test-connection']) {
      for (const [override, field] of cases) {
        const response = await api.request('POST', path, {
          token: admin,
          body: { ...body, ...override },
        });
        assert.equal(response.status, 400, `${path} ${field}: ${JSON.stringify(response.body)}`);
        assert.deepEqual(
          response.body.errors.map((error: { field: string }) => error.field),
          [field],
          `${path}: ${JSON.stringify(override)}`,
        );
      }
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

describe('test-connection of a SqlServer destination', () => {
  const sqlServer = { ...body, engine: 'SqlServer', host: '127.0.0.1', schema: 'dbo' };

  test('a refused port is a 400 saying refused, within seconds', async () => {
    const started = Date.now();
    const port = await freePort();

    const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
      token: admin,
      body: { ...sqlServer, port },
    });

    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.code, 'CONNECTION_TEST_FAILED');
    assert.equal(
      response.body.detail,
      `could not connect to 127.0.0.1:${port}: connection refused`,
    );
    assert.ok(Date.now() - started < 5_000);
  });

  test('a refused login is a 400 naming the login failure, without the password', async () => {
    const responder = await startTdsResponder('login-failure', fields.username);
    const password = 'Sql-Server-Password-0815';

    try {
      const response = await api.request('POST', '/v1/affiliates/connectors/test-connection', {
        token: admin,
        body: { ...sqlServer, port: responder.port, password },
      });

      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal(response.body.code, 'CONNECTION_TEST_FAILED');
      assert.match(response.body.detail, /Login failed for user .*\(SQL Server error 18456\)$/);
      assert.ok(!JSON.stringify(response.body).includes(password));
    } finally {
      await responder.close();
    }
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
    const reload = response.body.paths['/v1/affiliates/connectors/{id}/reload'].post;
    assert.ok(reload.responses['400'].content['application/problem+json']);
  });
});

describe('client mistakes are 4xx problems, never 500s', () => {
  test('an id beyond any connector, a NUL in a text field, an unknown filter: 400', async () => {
    const huge = await api.request('GET', '/v1/affiliates/connectors/99999999999999999999', {
      token: admin,
    });
    const nul = await api.request('POST', '/v1/affiliates/connectors', {
      token: admin,
      body: { ...body, host: 'a\u0000b' },
    });
    const filter = await api.request('GET', '/v1/affiliates/connectors?affiliateId=9', {
      token: admin,
    });

    for (const response of [huge, nul, filter]) {
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal(response.body.code, 'VALIDATION_FAILED');
    }
    assert.equal(nul.body.errors[0].field, 'host');
  });

  test('without a token, even a malformed body is a 401', async () => {
    const response = await api.request('POST', '/v1/affiliates/connectors', { rawBody: '{oops' });
    assert.equal(response.status, 401);
  });

  test('a body over the limit is a 413', async () => {
    const response = await api.request('POST', '/v1/affiliates/connectors', {
      token: admin,
      rawBody: JSON.stringify({ ...body, host: 'x'.repeat(2_000_000) }),
    });
    assert.equal(response.status, 413);
    assert.equal(response.body.code, 'BODY_TOO_LARGE');
  });

  test('a DELETE sent with a JSON content type and no body works', async () => {
    const { body: connector } = await createConnector();
    const response = await api.request('DELETE', `/v1/affiliates/connectors/${connector.id}`, {
      token: admin,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.status, 204);
  });
});

describe('replacing and removing connectors', () => {
  test('a PUT that omits optional fields keeps them', async () => {
    const { body: connector } = await createConnector({ enabled: false, schema: 'kept_schema' });
    const replaced = await api.request('PUT', `/v1/affiliates/connectors/${connector.id}`, {
      token: admin,
      body: { ...body, password: undefined, schema: undefined, enabled: undefined },
    });

    assert.equal(replaced.body.enabled, false);
    assert.equal(replaced.body.schema, 'kept_schema');
  });

  test('the stored password is not sent to a new host: a PUT changing it needs the password', async () => {
    const { body: connector } = await createConnector();
    const moved = await api.request('PUT', `/v1/affiliates/connectors/${connector.id}`, {
      token: admin,
      body: { ...body, password: undefined, host: 'elsewhere.example' },
    });

    assert.equal(moved.status, 400);
    assert.equal(moved.body.errors[0].field, 'password');
  });

  test('the stored password is not sent without TLS: turning useSsl off needs the password', async () => {
    const { body: connector } = await createConnector({ useSsl: true });
    const path = `/v1/affiliates/connectors/${connector.id}`;
    const plain = await api.request('PUT', path, {
      token: admin,
      body: { ...body, password: undefined, useSsl: false },
    });

    assert.equal(plain.status, 400);
    assert.equal(plain.body.errors[0].field, 'password');

    const stillTls = await api.request('PUT', path, {
      token: admin,
      body: { ...body, password: undefined, useSsl: true, schema: 'tls_kept' },
    });
    assert.equal(stillTls.status, 200);
    assert.equal(stillTls.body.schema, 'tls_kept');
  });

  test('a SqlServer connector defaults to the dbo schema', async () => {
    const { body: connector } = await createConnector({ engine: 'SqlServer' });
    assert.equal(connector.schema, 'dbo');
  });

  test('deleting a connector cancels what it has queued or running', async () => {
    const { body: connector } = await createConnector();
    const accepted = await api.request('POST', `/v1/affiliates/connectors/${connector.id}/reload`, {
      token: admin,
      body: { dataType: 'clicks', fromDate: '2017-01-01', toDate: '2017-01-02' },
    });
    await api.request('DELETE', `/v1/affiliates/connectors/${connector.id}`, { token: admin });
    const execution = await api.waitForExecution(accepted.body.executionId, admin);

    assert.notEqual(execution.status, 'running');
    assert.ok(['cancelled', 'succeeded'].includes(execution.status), execution.status);
  });
});
