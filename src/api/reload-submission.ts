import { createHash, randomUUID } from 'node:crypto';

import type pg from 'pg';

import { enqueueReload } from '../engine/reload-queue.ts';
import { inTransaction } from '../sql/transactions.ts';
import { AppError } from '../errors.ts';
import type { ConnectorRecord } from '../store/connectors-store.ts';
import {
  findActiveIdentical,
  findByIdempotencyKey,
  insertExecution,
  rememberIdempotencyKey,
} from '../store/executions-store.ts';
import type { ApiDeps } from './api-deps.ts';
import type { ReloadRequest } from './reload-request.ts';

/** Second key of the advisory lock that makes reload submissions of one connector take turns. */
const SUBMISSION_LOCK_SPACE = 1_337_002;

export type Submission =
  | { outcome: 'queued'; executionId: string }
  | { outcome: 'replayed' | 'attached'; executionId: string };

/** What makes two reload requests the same request, for Idempotency-Key. */
function requestHash(reload: ReloadRequest): string {
  const canonical = JSON.stringify([reload.dataType, reload.window?.from, reload.window?.to]);
  return createHash('sha256').update(canonical).digest('hex');
}

async function attachOrQueue(
  deps: ApiDeps,
  client: pg.PoolClient,
  connector: ConnectorRecord,
  reload: ReloadRequest,
): Promise<Submission> {
  const windowFrom = reload.window?.from ?? null;
  const windowTo = reload.window?.to ?? null;
  const identical = { dataType: reload.dataType, windowFrom, windowTo };

  const active = await findActiveIdentical(client, connector.id, identical);
  if (active) return { outcome: 'attached', executionId: active };

  const executionId = randomUUID();
  const execution = {
    id: executionId,
    connectorId: connector.id,
    affiliateId: connector.affiliateId,
  };
  const timeZone = reload.window?.timeZone ?? null;
  await insertExecution(client, { ...execution, ...identical, timeZone });
  await enqueueReload(deps.boss, client, { executionId, connectorId: connector.id });
  return { outcome: 'queued', executionId };
}

/**
 * Queues a reload, unless it is a repeat: the same Idempotency-Key with the same request gives
 * back its execution (another request under that key is refused), and an identical reload
 * already queued or running is returned instead of a second one. Submissions of one connector
 * are serialised, so two simultaneous clicks cannot both queue.
 */
export async function submitReload(
  deps: ApiDeps,
  connector: ConnectorRecord,
  reload: ReloadRequest,
  idempotencyKey: string | undefined,
): Promise<Submission> {
  const hash = requestHash(reload);

  return inTransaction(deps.pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [
      SUBMISSION_LOCK_SPACE,
      connector.id,
    ]);

    if (idempotencyKey) {
      const earlier = await findByIdempotencyKey(client, connector.id, idempotencyKey);
      if (earlier && earlier.requestHash !== hash) {
        throw AppError.invalidField(
          'IDEMPOTENCY_KEY_REUSED',
          'Idempotency-Key',
          `was already used with a different reload (execution ${earlier.id}); use a new key.`,
        );
      }
      if (earlier) return { outcome: 'replayed', executionId: earlier.id };
    }

    const submission = await attachOrQueue(deps, client, connector, reload);
    if (idempotencyKey) {
      const entry = { connectorId: connector.id, key: idempotencyKey, requestHash: hash };
      await rememberIdempotencyKey(client, { ...entry, executionId: submission.executionId });
    }
    return submission;
  });
}
