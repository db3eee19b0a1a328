import { asError } from '../errors.ts';
import { connectorsDueForSync } from '../store/connectors-store.ts';
import { tryLockConnector } from './connector-lock.ts';
import { syncConnector, type LiveSyncDeps } from './live-sync.ts';

export interface LiveSyncOptions {
  intervalMs: number;
  /** Connectors this process syncs at once. */
  concurrency: number;
}

/**
 * The continuous mirror: every `intervalMs`, each enabled connector that is not resting and has
 * no reload queued or running gets one sync step, from whichever worker takes its writer lock
 * first. Several workers on one store share the connectors this way without coordination.
 */
export function startLiveSync(deps: LiveSyncDeps, options: LiveSyncOptions) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function syncIfFree(connector: Awaited<ReturnType<typeof connectorsDueForSync>>[number]) {
    const lock = await tryLockConnector(deps.pool, connector);
    if (!lock) return;
    try {
      await syncConnector(deps, connector);
    } finally {
      await lock.release();
    }
  }

  async function tick() {
    const due = await connectorsDueForSync(deps.pool);
    for (let next = 0; next < due.length && !stopped; next += options.concurrency) {
      await Promise.all(due.slice(next, next + options.concurrency).map(syncIfFree));
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick()
        .catch((error: unknown) =>
          deps.logger.warn({ reason: asError(error).message }, 'live sync tick failed'),
        )
        .finally(schedule);
    }, options.intervalMs);
  }

  schedule();
  deps.logger.info(options, 'live sync started');

  return async function stop() {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
