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
 * Three worker processes share one store and reload ten connectors; one of them is killed
 * with SIGKILL in the middle. Everything must end exact, and the executions' own records must
 * show that no chunk was applied twice or by two workers.
 */

const AFFILIATE = 7;
const CONNECTORS = 10;
const WINDOW = { fromDate: '2025-01-01', toDate: '2025-01-20' };

const api = await startTestService('worker_crash', { worker: false });
const token = await api.tenant(AFFILIATE);
await generateSyntheticData(api.store.pool, {
  affiliateId: AFFILIATE,
  clicks: 150_000,
  days: 20,
  seed: 3,
  start: new Date('2025-01-01T00:00:00Z'),
  logger: silentLogger(),
});

const destinations = await Promise.all(
  Array.from({ length: CONNECTORS }, (_, i) => createTestDatabase(`crash_dest_${i}`)),
);
const connectorIds: number[] = [];
for (const destination of destinations)
  connectorIds.push(await api.connector(token, destination.url));

const workers = [
  spawnWorker(api.workerEnv),
  spawnWorker(api.workerEnv),
  spawnWorker(api.workerEnv),
];

async function executionsOf(ids: string[]) {
  const result = await api.store.pool.query<{
    id: string;
    status: string;
    worker_id: string | null;
    chunks_done: number;
    chunks_total: number;
    attempts: number;
  }>(
    'SELECT id, status, worker_id, chunks_done, chunks_total, attempts FROM executions WHERE id = ANY($1)',
    [ids],
  );
  return result.rows;
}

describe('a worker killed with SIGKILL in the middle of reloads', () => {
  const executionIds: string[] = [];
  let victimPid = 0;

  test('ten reloads are spread over three workers and one of them is killed mid-reload', async () => {
    for (const id of connectorIds) {
      const accepted = await api.request('POST', `/v1/affiliates/connectors/${id}/reload`, {
        token,
        body: { dataType: 'clicks', ...WINDOW },
      });
      assert.equal(accepted.status, 202);
      executionIds.push(accepted.body.executionId);
    }

    const deadline = Date.now() + 60_000;
    while (!victimPid && Date.now() < deadline) {
      const busy = (await executionsOf(executionIds)).find(
        (e) =>
          e.status === 'running' &&
          e.worker_id &&
          e.chunks_done >= 2 &&
          e.chunks_done < e.chunks_total - 3,
      );
      const pid = busy ? Number(busy.worker_id!.split(':')[1]) : 0;
      if (workers.some((worker) => worker.pid === pid)) victimPid = pid;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(victimPid, 'no execution was seen running in a worker process');
    process.kill(victimPid, 'SIGKILL');
  });

  test('every execution ends succeeded: none is left running by the dead worker', async () => {
    const deadline = Date.now() + 150_000;
    let executions = await executionsOf(executionIds);
    while (executions.some((e) => e.status !== 'succeeded') && Date.now() < deadline) {
      assert.ok(!executions.some((e) => e.status === 'failed'), JSON.stringify(executions));
      await new Promise((resolve) => setTimeout(resolve, 500));
      executions = await executionsOf(executionIds);
    }
    assert.deepEqual(
      executions.map((e) => e.status),
      executionIds.map(() => 'succeeded'),
    );
    assert.ok(
      executions.some((e) => e.attempts >= 2),
      'no execution was resumed by another worker',
    );
  });

  test('every destination holds exactly the source rows of the window', async () => {
    const window = {
      affiliateId: AFFILIATE,
      from: '2025-01-01T00:00:00Z',
      toExclusive: '2025-01-21T00:00:00Z',
    };
    const source = await fingerprint(api.store.url, eventTables.clicks, window);
    assert.ok(source.rows > 100_000);

    for (const destination of destinations) {
      const mirror = await fingerprint(destination.url, eventTables.clicks, {
        affiliateId: AFFILIATE,
        schema: 'public',
      });
      assert.deepEqual(mirror, source, `${destination.name} differs`);
    }
  });

  test('each chunk was applied once, by one worker: destination and store records agree', async () => {
    const executions = await executionsOf(executionIds);
    const workersSeen = new Set<string>();

    for (const [index, destination] of destinations.entries()) {
      const execution = executions.find((e) => e.id === executionIds[index])!;
      const applied = await destination.pool.query<{ chunk_index: number; worker_id: string }>(
        'SELECT chunk_index, worker_id FROM public._mirror_chunks WHERE execution_id = $1 ORDER BY chunk_index',
        [execution.id],
      );
      const recorded = await api.store.pool.query<{ chunk_index: number; worker_id: string }>(
        'SELECT chunk_index, worker_id FROM execution_chunks WHERE execution_id = $1 ORDER BY chunk_index',
        [execution.id],
      );

      assert.equal(applied.rows.length, execution.chunks_total);
      assert.deepEqual(
        applied.rows.map((r) => r.chunk_index),
        [...Array(execution.chunks_total).keys()],
      );
      for (const row of recorded.rows) {
        const atDestination = applied.rows[row.chunk_index]!;
        assert.equal(
          row.worker_id,
          atDestination.worker_id,
          'a chunk recorded by one worker was applied by another',
        );
      }
      for (const row of applied.rows) workersSeen.add(row.worker_id);
    }

    const victimChunks = [...workersSeen].filter((id) => id.split(':')[1] === String(victimPid));
    assert.equal(victimChunks.length, 1, 'the killed worker had applied chunks before it died');
    assert.ok(workersSeen.size >= 3, `chunks came from ${workersSeen.size} workers`);
  });
});
