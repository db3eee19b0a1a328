import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { tryLockConnector } from '../../src/engine/connector-lock.ts';
import { generateSyntheticData } from '../../src/importers/synthetic-generator.ts';
import { silentLogger } from '../../src/logger.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { getConnector } from '../../src/store/connectors-store.ts';
import { createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';
import { spawnWorker } from '../support/worker-process.ts';

/**
 * A worker that took a reload's job but died before the execution started (here: while it
 * waited for its connector, busy with another writer) must not leave the execution queued
 * behind a job that only expires a day later: the reaper queues it again, another worker
 * runs it, and it ends exact.
 */

const AFFILIATE = 7;

const api = await startTestService('worker_crash_before_start', { worker: false });
const token = await api.tenant(AFFILIATE);
await generateSyntheticData(api.store.pool, {
  affiliateId: AFFILIATE,
  clicks: 5_000,
  days: 2,
  seed: 4,
  start: new Date('2024-05-01T00:00:00Z'),
  logger: silentLogger(),
});
const destination = await createTestDatabase('worker_crash_before_start_dest');
const connectorId = await api.connector(token, destination.url);

const executionRow = async (id: string) =>
  (
    await api.store.pool.query<{ status: string; worker_id: string | null }>(
      'SELECT status, worker_id FROM executions WHERE id = $1',
      [id],
    )
  ).rows[0]!;

async function jobTaken(executionId: string): Promise<boolean> {
  const result = await api.store.pool.query(
    `SELECT 1 FROM pgboss.job WHERE name = 'reload' AND state = 'active'
        AND data->>'executionId' = $1`,
    [executionId],
  );
  return result.rowCount === 1;
}

describe('a worker killed after taking a job, before its execution started', () => {
  test('the execution is queued again, run by another worker, and ends exact', async () => {
    // Another writer holds the connector, so the first worker waits with the job taken.
    const busy = await tryLockConnector(
      api.store.pool,
      (await getConnector(api.store.pool, connectorId))!,
    );
    assert.ok(busy);

    const first = spawnWorker(api.workerEnv);
    const accepted = await api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
      token,
      body: { dataType: 'clicks', fromDate: '2024-05-01', toDate: '2024-05-02' },
    });
    const id: string = accepted.body.executionId;
    // The worker has taken the job (pg-boss marks it active) and waits for the connector.
    const deadline = Date.now() + 30_000;
    while (!(await jobTaken(id))) {
      assert.ok(Date.now() < deadline, 'the worker never took the job');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await executionRow(id)).status, 'queued', 'taken, not started');

    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    await busy.release();

    spawnWorker(api.workerEnv);
    const finished = await api.waitForExecution(id, token, 90_000);
    assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));

    const source = await fingerprint(api.store.url, eventTables.clicks, {
      affiliateId: AFFILIATE,
      from: '2024-05-01T00:00:00Z',
      toExclusive: '2024-05-03T00:00:00Z',
    });
    const mirror = await fingerprint(destination.url, eventTables.clicks, {
      affiliateId: AFFILIATE,
      schema: 'public',
    });
    assert.deepEqual(mirror, source);
  });
});
