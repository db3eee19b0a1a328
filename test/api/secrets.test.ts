import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';

import { createLogger } from '../../src/logger.ts';
import { Secret, scrubSecrets } from '../../src/secret.ts';
import { connectionFields, createTestDatabase } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

/** Everything the service logged during the test file. */
const logStream = new PassThrough();
const logLines: string[] = [];
logStream.on('data', (chunk: Buffer) => logLines.push(chunk.toString('utf8')));

const api = await startTestService('secrets', { logStream });
const destination = await createTestDatabase('secrets_dest');
const admin = await api.tenant(7);
const fields = connectionFields(destination.url);
const WRONG_PASSWORD = 'Hunter2-Wrong-Password-xyz';

describe('secrets never appear in responses, logs or errors', () => {
  test('a Secret prints as [redacted] in JSON, strings and inspect', () => {
    const secret = new Secret('s3cret-value');
    const printed = [
      JSON.stringify({ secret }),
      String(secret),
      secret.toString(),
      inspect({ secret }),
    ];

    for (const text of printed) assert.ok(!text.includes('s3cret-value'), text);
    assert.equal(secret.reveal(), 's3cret-value');
  });

  test('the logger censors credential-like fields even outside a Secret', () => {
    const stream = new PassThrough();
    let output = '';
    stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', format: 'json', destination: stream });

    logger.info(
      {
        password: 'plain-pw-1',
        connector: { password: 'plain-pw-2' },
        connectionString: 'postgres://u:plain-pw-3@h/d',
      },
      'x',
    );

    assert.ok(output.includes('[redacted]'));
    for (const value of ['plain-pw-1', 'plain-pw-2', 'plain-pw-3'])
      assert.ok(!output.includes(value), value);
  });

  test('driver messages are scrubbed of the password and of URL credentials', () => {
    const message = scrubSecrets('failed for pw Hunter2 at postgres://bob:Hunter2@db/x', [
      new Secret('Hunter2'),
    ]);
    assert.ok(!message.includes('Hunter2'));
  });

  test('a reload with a wrong password fails with a reason that holds no password', async () => {
    const created = await api.request('POST', '/v1/affiliates/connectors', {
      token: admin,
      body: {
        affiliateId: 7,
        engine: 'PostgresSQL',
        useSsl: false,
        ...fields,
        password: WRONG_PASSWORD,
      },
    });
    const accepted = await api.request(
      'POST',
      `/v1/affiliates/connectors/${created.body.id}/reload`,
      {
        token: admin,
        body: { dataType: 'clicks', fromDate: '2017-11-07', toDate: '2017-11-07' },
      },
    );
    const execution = await api.waitForExecution(accepted.body.executionId, admin);

    assert.equal(execution.status, 'failed');
    assert.match(execution.error.message, /password authentication failed/);
    assert.ok(!JSON.stringify(execution).includes(WRONG_PASSWORD));
  });

  test('nothing the service logged holds a password or a token', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logged = logLines.join('');

    assert.ok(logged.includes('execution failed'), 'the failure was logged');
    assert.ok(!logged.includes(WRONG_PASSWORD), 'wrong password in logs');
    assert.ok(!logged.includes(fields.password), 'destination password in logs');
    assert.ok(!logged.includes(admin), 'API token in logs');
  });
});
