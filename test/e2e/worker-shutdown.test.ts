import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { generateSyntheticData } from '../../src/importers/synthetic-generator.ts';
import { silentLogger } from '../../src/logger.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';
import { spawnWorker } from '../support/worker-process.ts';

/**
 * A worker stopped with SIGTERM in the middle of a reload hands the execution back at a chunk
 * boundary instead of failing it; another worker resumes it and it ends exact.
 */

const AFFILIATE = 7;

const api = await startTestService('worker_shutdown', { worker: false });
const token = await api.tenant(AFFILIATE);
await generateSyntheticData(api.store.pool, {
  affiliateId: AFFILIATE,
  clicks: 120_000,
  days: 60,
  seed: 9,
  start: new Date('2024-01-01T00:00:00Z'),
  logger: silentLogger(),
});
const destination = await createTestDatabase('worker_shutdown_dest');
const connectorId = await api.connector(token, destination.url);

const executionRow = async (id: string) =>
  (
    await api.store.pool.query<{
      status: string;
      chunks_done: number;
      attempts: number;
      error_message: string | null;
    }>('SELECT status, chunks_done, attempts, error_message FROM executions WHERE id = $1', [id])
  ).rows[0]!;

describe('a worker stopped with SIGTERM mid-reload', () => {
  test('hands the execution back; another worker resumes it and it ends exact', async () => {
    const first = spawnWorker(api.workerEnv);
    const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
      token,
      body: { dataType: 'clicks', fromDate: '2024-01-01', toDate: '2024-02-29' },
    });
    const id: string = accepted.body.executionId;

    while ((await executionRow(id)).chunks_done < 3)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGTERM');
    await exited;

    const handedBack = await executionRow(id);
    assert.equal(handedBack.status, 'running', 'the stopped worker must not end the execution');
    assert.ok(handedBack.chunks_done < 60);

    spawnWorker(api.workerEnv);
    const finished = await api.waitForExecution(id, token, 120_000);
    assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));
    assert.ok(finished.attempts >= 2);

    const window = {
      affiliateId: AFFILIATE,
      from: '2024-01-01T00:00:00Z',
      toExclusive: '2024-03-01T00:00:00Z',
    };
    const source = await fingerprint(api.store.url, eventTables.clicks, window);
    const mirror = await fingerprint(destination.url, eventTables.clicks, {
      affiliateId: AFFILIATE,
      schema: 'public',
    });
    assert.deepEqual(mirror, source);
  });
});
