import type PgBoss from 'pg-boss';

import { asError } from '../errors.ts';
import { takeOverStale } from '../store/executions-store.ts';
import type { RunnerDeps } from './execution-runner.ts';
import { HEARTBEAT_INTERVAL_MS } from './execution-runner.ts';
import { enqueueReload } from './reload-queue.ts';

/** Four missed heartbeats: the worker is gone (killed, or cut off from the store). */
export const STALE_AFTER_SECONDS = (HEARTBEAT_INTERVAL_MS * 4) / 1000;
const REAP_INTERVAL_MS = 5_000;

/**
 * Finds running executions whose worker stopped beating and queues them again; the next worker
 * to take the job resumes after the chunks committed at the destination. So an execution is
 * never left "running" by a dead worker, and it resumes within about half a minute.
 */
export function startReaper(boss: PgBoss, deps: RunnerDeps) {
  async function reap() {
    const stale = await takeOverStale(deps.pool, STALE_AFTER_SECONDS);
    if (stale.length === 0) return;

    const client = await deps.pool.connect();
    try {
      for (const execution of stale) {
        await enqueueReload(boss, client, {
          executionId: execution.id,
          connectorId: execution.connectorId,
        });
        deps.logger.warn(
          {
            executionId: execution.id,
            connectorId: execution.connectorId,
            deadWorker: execution.workerId,
          },
          'execution taken over: its worker stopped beating; queued to resume',
        );
      }
    } finally {
      client.release();
    }
  }

  const timer = setInterval(() => {
    reap().catch((error: unknown) =>
      deps.logger.warn({ reason: asError(error).message }, 'reaper failed'),
    );
  }, REAP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
