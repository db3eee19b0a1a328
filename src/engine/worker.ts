import type PgBoss from 'pg-boss';

import { asError } from '../errors.ts';
import { tryLockConnector } from './connector-lock.ts';
import { runExecution, type RunnerDeps } from './execution-runner.ts';
import { enqueueReload, RELOAD_QUEUE, type ReloadJob } from './reload-queue.ts';

/** How long a reload waits before trying again when its connector is busy. */
const BUSY_CONNECTOR_RETRY_SECONDS = 5;
const POLLING_INTERVAL_SECONDS = 1;

export interface WorkerOptions {
  concurrency: number;
}

/**
 * Takes reload jobs from the queue. A job whose connector is already being written by another
 * execution is put back with a short delay, so one connector never has two writers.
 */
async function handleJob(boss: PgBoss, deps: RunnerDeps, job: PgBoss.Job<ReloadJob>) {
  const { executionId, connectorId } = job.data;
  const lock = await tryLockConnector(deps.pool, connectorId);

  if (!lock) {
    deps.logger.info({ executionId, connectorId }, 'connector busy; execution waits its turn');
    const client = await deps.pool.connect();
    try {
      await enqueueReload(boss, client, job.data, BUSY_CONNECTOR_RETRY_SECONDS);
    } finally {
      client.release();
    }
    return;
  }

  try {
    await runExecution(deps, executionId);
  } finally {
    await lock.release();
  }
}

export async function startWorker(boss: PgBoss, deps: RunnerDeps, options: WorkerOptions) {
  const workOptions = { batchSize: 1, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS };

  for (let slot = 0; slot < options.concurrency; slot += 1) {
    await boss.work<ReloadJob>(RELOAD_QUEUE, workOptions, async (jobs) => {
      for (const job of jobs) {
        await handleJob(boss, deps, job).catch((error: unknown) => {
          deps.logger.error({ jobId: job.id, err: asError(error).message }, 'reload job crashed');
          throw error;
        });
      }
    });
  }
  deps.logger.info({ concurrency: options.concurrency }, 'worker started');
}
