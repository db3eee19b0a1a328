import type { FastifyInstance } from 'fastify';
import type PgBoss from 'pg-boss';

import { buildServer } from './api/server.ts';
import type { Config } from './config.ts';
import { loadPasswordCipher } from './crypto/password-cipher.ts';
import { stopTakingChunks } from './engine/execution-runner.ts';
import { startLiveSync } from './engine/live-sync-scheduler.ts';
import { startReaper } from './engine/reaper.ts';
import { startQueue } from './engine/reload-queue.ts';
import { startWorker } from './engine/worker.ts';
import type { Logger } from './logger.ts';
import { openStore, type Store } from './store/database.ts';

export interface ServiceOptions {
  api: boolean;
  worker: boolean;
  port: number;
}

export interface RunningService {
  store: Store;
  app?: FastifyInstance;
  /** The address the API listens on, when it runs. */
  url?: string;
  stop(): Promise<void>;
}

/**
 * Starts the parts of the service this process runs: the API, the worker, or both. Each part
 * stops in reverse order of start, so no job is left half-taken by a closing pool.
 */
export async function startService(config: Config, logger: Logger, options: ServiceOptions) {
  const store = await openStore(config, logger);
  const cipher = await loadPasswordCipher(config, logger);
  let boss: PgBoss | undefined;
  let app: FastifyInstance | undefined;
  const stoppers: Array<() => void | Promise<void>> = [];

  const stop = async () => {
    stopTakingChunks();
    await app?.close();
    for (const stopPart of stoppers.reverse()) await stopPart();
    await boss?.stop({ graceful: true, timeout: 30_000, wait: true });
    await store.close();
  };

  try {
    boss = await startQueue(store.connectionString, logger);
    if (options.worker) {
      const deps = { pool: store.pool, cipher, logger };
      await startWorker(boss, deps, { concurrency: config.workerConcurrency });
      stoppers.push(startReaper(boss, deps));
      if (config.syncIntervalMs > 0) {
        const sync = { intervalMs: config.syncIntervalMs, concurrency: config.syncConcurrency };
        stoppers.push(startLiveSync(deps, sync));
      }
    }
    if (!options.api) return { store, stop } satisfies RunningService;

    app = await buildServer({ pool: store.pool, boss, cipher, logger });
    const url = await app.listen({ port: options.port, host: config.host });
    return { store, app, url, stop } satisfies RunningService;
  } catch (error: unknown) {
    await stop().catch(() => undefined);
    throw error;
  }
}
