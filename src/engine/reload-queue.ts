import PgBoss from 'pg-boss';
import type pg from 'pg';

import type { Logger } from '../logger.ts';

export const RELOAD_QUEUE = 'reload';

/**
 * A reload may run for hours; pg-boss caps a job's expiry below 24 hours. An execution cut off
 * by expiry is picked up again by a retry and resumes after its last committed chunk.
 */
const RELOAD_EXPIRE_IN_SECONDS = 23 * 3600;
const RELOAD_RETRY_LIMIT = 2;
const RELOAD_RETRY_DELAY_SECONDS = 30;

export interface ReloadJob {
  executionId: string;
  connectorId: number;
}

/** Starts pg-boss in the platform store (schema `pgboss`) and makes sure the queue exists. */
export async function startQueue(connectionString: string, logger: Logger): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString, application_name: 'affiliate-mirror-queue' });
  boss.on('error', (error: Error) => logger.error({ err: error.message }, 'job queue error'));
  await boss.start();
  // pg-boss 10 reads only `expireInSeconds` here (`expireInHours` is silently ignored, and a
  // job would expire after its 15-minute default); updateQueue applies it to an existing queue.
  const queue = {
    name: RELOAD_QUEUE,
    expireInSeconds: RELOAD_EXPIRE_IN_SECONDS,
    retryLimit: RELOAD_RETRY_LIMIT,
    retryDelay: RELOAD_RETRY_DELAY_SECONDS,
    retryBackoff: true,
  };
  await boss.createQueue(RELOAD_QUEUE, queue);
  await boss.updateQueue(RELOAD_QUEUE, queue);
  return boss;
}

/**
 * Queues a reload inside the caller's transaction, so an execution row never exists without
 * its job, nor a job without its execution.
 */
export async function enqueueReload(
  boss: PgBoss,
  client: pg.PoolClient,
  job: ReloadJob,
  startAfterSeconds = 0,
): Promise<void> {
  const db = { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
  await boss.send(RELOAD_QUEUE, job, {
    db,
    startAfter: startAfterSeconds,
    expireInSeconds: RELOAD_EXPIRE_IN_SECONDS,
  });
}
