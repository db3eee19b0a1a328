import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { generateSyntheticData } from '../../src/importers/synthetic-generator.ts';
import { silentLogger } from '../../src/logger.ts';
import { createTestDatabase } from '../support/databases.ts';
import { startTestService } from '../support/service.ts';

const api = await startTestService('execution_control');
const destination = await createTestDatabase('execution_control_dest');
const admin = await api.tenant(7);
const connectorId = await api.connector(admin, destination.url);

const reload = (body: unknown, headers: Record<string, string> = {}) =>
  api.request('POST', `/v1/affiliates/connectors/${connectorId}/reload`, {
    token: admin,
    body,
    headers,
  });

/** 200 days with rows: 200 chunks, so the execution runs long enough to act on it. */
await generateSyntheticData(api.store.pool, {
  affiliateId: 7,
  clicks: 40_000,
  days: 200,
  seed: 5,
  start: new Date('2001-01-01T00:00:00Z'),
  logger: silentLogger(),
});
const longWindow = { dataType: 'pageviews', fromDate: '2001-01-01', toDate: '2001-07-19' };

async function waitForStatus(executionId: string, status: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await api.request('GET', `/v1/executions/${executionId}`, { token: admin });
    if (response.body.status === status) return response.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`execution ${executionId} did not reach ${status}`);
}

describe('cancel', () => {
  let cancelledExecution: { executionId: string; progress: { chunksDone: number } };

  test('a running execution stops at a chunk boundary, ends cancelled and never restarts', async () => {
    const accepted = await reload(longWindow);
    const running = await waitForStatus(accepted.body.executionId, 'running');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const cancel = await api.request('POST', `/v1/executions/${running.executionId}/cancel`, {
      token: admin,
    });
    assert.equal(cancel.status, 202);
    assert.equal(cancel.body.cancelRequested, true);

    const cancelled = await waitForStatus(running.executionId, 'cancelled');
    assert.ok(cancelled.progress.chunksDone < cancelled.progress.chunksTotal);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const later = await api.request('GET', `/v1/executions/${running.executionId}`, {
      token: admin,
    });
    assert.equal(later.body.status, 'cancelled');
    assert.equal(later.body.progress.chunksDone, cancelled.progress.chunksDone);
    cancelledExecution = later.body;
  });

  test('what a cancelled execution committed is consistent: each chunk whole, and recorded', async () => {
    const atDestination = await destination.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM public._mirror_chunks WHERE execution_id = $1',
      [cancelledExecution.executionId],
    );

    assert.ok(cancelledExecution.progress.chunksDone > 0);
    assert.equal(atDestination.rows[0]!.n, cancelledExecution.progress.chunksDone);
  });

  test('cancelling an ended execution is a 409; an unknown one a 404', async () => {
    const accepted = await reload({ dataType: 'dimensions' });
    await api.waitForExecution(accepted.body.executionId, admin);

    const ended = await api.request('POST', `/v1/executions/${accepted.body.executionId}/cancel`, {
      token: admin,
    });
    const unknown = await api.request(
      'POST',
      '/v1/executions/00000000-0000-4000-8000-000000000000/cancel',
      { token: admin },
    );
    assert.equal(ended.status, 409);
    assert.equal(ended.body.code, 'EXECUTION_FINISHED');
    assert.equal(unknown.status, 404);
  });
});

describe('no duplicate work', () => {
  test('the same Idempotency-Key and body give back the same execution', async () => {
    const body = { dataType: 'clicks', fromDate: '2017-10-01', toDate: '2017-10-01' };
    const first = await reload(body, { 'idempotency-key': 'key-one' });
    await api.waitForExecution(first.body.executionId, admin);
    const again = await reload(body, { 'idempotency-key': 'key-one' });

    assert.equal(first.status, 202);
    assert.equal(again.status, 200);
    assert.equal(again.body.executionId, first.body.executionId);
  });

  test('the same Idempotency-Key with another body is a 409', async () => {
    await reload(
      { dataType: 'clicks', fromDate: '2017-10-02', toDate: '2017-10-02' },
      { 'idempotency-key': 'key-two' },
    );
    const other = await reload(
      { dataType: 'clicks', fromDate: '2017-10-03', toDate: '2017-10-03' },
      { 'idempotency-key': 'key-two' },
    );

    assert.equal(other.status, 409);
    assert.equal(other.body.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('an identical reload already under way is returned instead of queuing a second', async () => {
    const responses = await Promise.all([
      reload(longWindow),
      reload(longWindow),
      reload(longWindow),
    ]);
    const ids = new Set(responses.map((response) => response.body.executionId));

    assert.equal(ids.size, 1);
    assert.deepEqual(responses.map((r) => r.status).sort(), [200, 200, 202]);
    await api.request('POST', `/v1/executions/${[...ids][0]}/cancel`, { token: admin });
  });
});

describe('progress', () => {
  test('GET /v1/executions/{id}/events streams progress events and ends with the final state', async () => {
    const accepted = await reload({
      dataType: 'clicks',
      fromDate: '2017-09-01',
      toDate: '2017-09-20',
    });
    const response = await fetch(
      `${api.service.url}/v1/executions/${accepted.body.executionId}/events`,
      {
        headers: { authorization: `ApiKey ${admin}` },
      },
    );
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({
      event: m[1],
      data: JSON.parse(m[2]!),
    }));

    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.equal(events.at(-1)!.event, 'end');
    assert.equal(events.at(-1)!.data.status, 'succeeded');
    assert.equal(events.at(-1)!.data.progress.percent, 100);
    assert.ok(events.length >= 2, `only ${events.length} events`);
  });

  test('a finished execution reports chunks, rows, rate and percent', async () => {
    const accepted = await reload({
      dataType: 'clicks',
      fromDate: '2001-02-01',
      toDate: '2001-02-03',
    });
    const execution = await api.waitForExecution(accepted.body.executionId, admin);

    assert.equal(execution.progress.chunksDone, 3);
    assert.equal(execution.progress.chunksTotal, 3);
    assert.equal(execution.progress.percent, 100);
    assert.equal(typeof execution.progress.rowsPerSecond, 'number');
    assert.ok(execution.progress.rowsWritten > 0);
    assert.equal(execution.progress.rowsRead, execution.progress.rowsWritten);
    assert.equal(execution.progress.currentChunk, null);
  });
});
