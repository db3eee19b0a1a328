import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';

import { generateSyntheticData } from '../../src/importers/synthetic-generator.ts';
import { silentLogger } from '../../src/logger.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/store/embedded-postgres.ts';
import { connectionFields } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { freePort } from '../support/ports.ts';
import { startTestService } from '../support/service.ts';

/**
 * The customer's database goes away in the middle of a reload and comes back: the execution
 * retries and finishes exact. With wrong credentials it fails, says why without the password,
 * and the connector is marked broken.
 */

const AFFILIATE = 7;
// Taken once: the outage stops this server and starts it again on the same port.
const DESTINATION_PORT = await freePort();
const logStream = new PassThrough();
const logLines: string[] = [];
logStream.on('data', (chunk: Buffer) => logLines.push(chunk.toString('utf8')));

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'am-outage-'));
const startDestination = () =>
  startEmbeddedPostgres({ dataDir, port: DESTINATION_PORT, logger: silentLogger() });
let server: EmbeddedServer = await startDestination();
after(async () => {
  await server.stop({ evenIfInUse: true });
  await rm(dataDir, { recursive: true, force: true });
});

const api = await startTestService('destination_outage', { logStream });
const token = await api.tenant(AFFILIATE);
await generateSyntheticData(api.store.pool, {
  affiliateId: AFFILIATE,
  clicks: 60_000,
  days: 30,
  seed: 11,
  start: new Date('2025-03-01T00:00:00Z'),
  logger: silentLogger(),
});

const fields = connectionFields(server.connectionString);

async function connector(password: string) {
  const created = await api.request('POST', '/v1/affiliates/connectors', {
    token,
    body: {
      affiliateId: AFFILIATE,
      engine: 'PostgresSQL',
      useSsl: false,
      schema: 'mirror',
      ...fields,
      password,
    },
  });
  assert.equal(created.status, 201);
  return created.body.id as number;
}

async function execution(id: string) {
  return (await api.request('GET', `/v1/executions/${id}`, { token })).body;
}

describe('destination outages', () => {
  test('a destination stopped mid-reload and started again: the execution retries and ends exact', async () => {
    const id = await connector(fields.password);
    const accepted = await api.request('POST', `/v1/affiliates/connectors/${id}/reload`, {
      token,
      body: { dataType: 'clicks', fromDate: '2025-03-01', toDate: '2025-03-30' },
    });

    while ((await execution(accepted.body.executionId)).progress.chunksDone < 3) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.stop({ evenIfInUse: true });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    server = await startDestination();

    const finished = await api.waitForExecution(accepted.body.executionId, token, 120_000);
    assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));

    const window = {
      affiliateId: AFFILIATE,
      from: '2025-03-01T00:00:00Z',
      toExclusive: '2025-03-31T00:00:00Z',
    };
    const source = await fingerprint(api.store.url, eventTables.clicks, window);
    const mirror = await fingerprint(server.connectionString, eventTables.clicks, {
      affiliateId: AFFILIATE,
      schema: 'mirror',
    });
    assert.deepEqual(mirror, source);
    assert.ok(
      logLines.some((line) => /retrying \(attempt 2 of \d+\)/.test(line)),
      'no retry was logged',
    );
  });

  test('wrong credentials fail the execution with a clear reason and mark the connector broken', async () => {
    const wrong = 'not-the-password-4242';
    const id = await connector(wrong);
    const accepted = await api.request('POST', `/v1/affiliates/connectors/${id}/reload`, {
      token,
      body: { dataType: 'clicks', fromDate: '2025-03-01', toDate: '2025-03-02' },
    });
    const failed = await api.waitForExecution(accepted.body.executionId, token);
    const status = await api.request('GET', `/v1/affiliates/connectors/${id}/status`, { token });

    assert.equal(failed.status, 'failed');
    assert.match(failed.error.message, /password authentication failed/);
    assert.ok(!JSON.stringify(failed).includes(wrong));
    assert.match(status.body.broken.reason, /password authentication failed/);
    assert.ok(!logLines.join('').includes(wrong), 'the password reached the log');
  });
});
