import type PgBoss from 'pg-boss';

import { asError } from '../errors.ts';
import { getConnector } from '../store/connectors-store.ts';
import {
  claimQueued,
  getExecution,
  releaseClaim,
  type ExecutionRecord,
} from '../store/executions-store.ts';
import { tryLockConnector } from './connector-lock.ts';
import { runExecution, startHeartbeat, type RunnerDeps } from './execution-runner.ts';
import { enqueueReload, RELOAD_QUEUE, type ReloadJob } from './reload-queue.ts';
import { workerId } from './worker-identity.ts';

/** How long a reload waits for its connector (a live sync step ends well within this). */
const LOCK_WAIT_MS = 30_000;
const LOCK_POLL_MS = 250;
/** When the connector stays busy (another reload), the job is put back for this long. */
const BUSY_CONNECTOR_RETRY_SECONDS = 5;
/**
 * How often an idle worker asks the queue for a reload: the wait between an accepted request
 * and its start. pg-boss's smallest interval; one cheap query a poll.
 */
const POLLING_INTERVAL_SECONDS = 0.5;

export interface WorkerOptions {
  concurrency: number;
}

async function waitForConnectorLock(deps: RunnerDeps, connectorId: number) {
  // A deleted connector still gets a lock (by id): its execution then fails, saying why.
  const connector = (await getConnector(deps.pool, connectorId)) ?? { id: connectorId };
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (Date.now() < deadline) {
    const lock = await tryLockConnector(deps.pool, connector);
    if (lock) return lock;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  return undefined;
}

/**
 * A job is a duplicate (a queue retry, a job that outlived its expiry) when its execution has
 * ended, or is running under a worker, this one included: drop it. An execution whose worker
 * died has no worker once the reaper took it over, so its new job runs it.
 */
function isDuplicate(execution: ExecutionRecord | undefined) {
  if (!execution || !['queued', 'running'].includes(execution.status)) return true;
  return execution.status === 'running' && execution.workerId !== null;
}

async function requeue(boss: PgBoss, deps: RunnerDeps, job: ReloadJob) {
  const client = await deps.pool.connect();
  try {
    await enqueueReload(boss, client, job, BUSY_CONNECTOR_RETRY_SECONDS);
  } finally {
    client.release();
  }
}

/**
 * Runs one reload job under its connector's writer lock, so that a connector never has two
 * writers: a live sync step finishes first, another reload makes this one wait its turn.
 */
async function handleJob(boss: PgBoss, deps: RunnerDeps, job: PgBoss.Job<ReloadJob>) {
  const { executionId, connectorId } = job.data;
  const execution = await getExecution(deps.pool, executionId);
  if (isDuplicate(execution)) return;
  // Ours from here on, with a heartbeat, even before it starts (see claimQueued).
  if (execution!.status === 'queued' && !(await claimQueued(deps.pool, executionId, workerId))) {
    return;
  }
  const stopHeartbeat = startHeartbeat(deps, executionId);

  try {
    const lock = await waitForConnectorLock(deps, connectorId);
    if (!lock) {
      deps.logger.info({ executionId, connectorId }, 'connector busy; the reload waits its turn');
      await releaseClaim(deps.pool, executionId, workerId);
      await requeue(boss, deps, job.data);
      return;
    }
    try {
      await runExecution(deps, executionId);
    } finally {
      await lock.release();
    }
  } finally {
    stopHeartbeat();
  }
}

export async function startWorker(boss: PgBoss, deps: RunnerDeps, options: WorkerOptions) {
  const workOptions = { batchSize: 1, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS };

  for (let slot = 0; slot < options.concurrency; slot += 1) {
    await boss.work<ReloadJob>(RELOAD_QUEUE, workOptions, async (jobs) => {
      for (const job of jobs) {
        await handleJob(boss, deps, job).catch((error: unknown) => {
          deps.logger.error(
            { jobId: job.id, reason: asError(error).message },
            'reload job crashed',
          );
          throw error;
        });
      }
    });
  }
  deps.logger.info({ concurrency: options.concurrency, workerId }, 'worker started');
}
