import type pg from 'pg';

import type { PasswordCipher } from '../crypto/password-cipher.ts';
import {
  START_OF_CHANGES,
  type ChangeCursor,
  type Destination,
} from '../destinations/destination.ts';
import { openDestination } from '../destinations/open-destination.ts';
import type { SchemaDriftError } from '../destinations/schema-drift.ts';
import { AppError, asError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { allTables, type MirrorTable } from '../mirror/tables.ts';
import { scrubSecrets } from '../secret.ts';
import {
  changeHorizon,
  nextBatchEnd,
  readChangedRows,
  readDeletions,
} from '../store/change-rows.ts';
import type { ConnectorRecord } from '../store/connectors-store.ts';
import { recordSyncFailure, recordSyncProgress } from '../store/sync-state-store.ts';
import { restIfUnreachable } from './broken-connector.ts';
import { connectionSettings } from './connector-settings.ts';
import { prepareMirrorTables } from './mirror-schema.ts';

/** Changes per destination transaction. */
export const SYNC_BATCH_CHANGES = 50_000;
/**
 * Each table of a step stops starting new batches after this, so that a large backlog in one
 * table does not starve the others, and a queued reload does not wait long for the lock.
 */
const TABLE_BUDGET_MS = 3_000;
const ALL_TABLES = 'all tables';

export interface LiveSyncDeps {
  pool: pg.Pool;
  cipher: PasswordCipher;
  logger: Logger;
}

interface TableStep {
  deps: LiveSyncDeps;
  connector: ConnectorRecord;
  destination: Destination;
  horizon: string;
  log: Logger;
}

/** Applies the table's changes batch by batch, each batch one destination transaction. */
async function syncTable(step: TableStep, table: MirrorTable) {
  const { deps, connector, destination } = step;
  let from: ChangeCursor =
    (await destination.readCursor(table, connector.affiliateId)) ?? START_OF_CHANGES;
  const deadline = Date.now() + TABLE_BUDGET_MS;

  while (Date.now() < deadline) {
    const to = await nextBatchEnd(
      deps.pool,
      table,
      connector.affiliateId,
      from,
      step.horizon,
      SYNC_BATCH_CHANGES,
    );
    if (!to) {
      await recordSyncProgress(deps.pool, connector.id, table.name, from, true);
      return;
    }

    const rows = await readChangedRows(deps.pool, table, connector.affiliateId, from, to);
    const deletions = await readDeletions(deps.pool, table, connector.affiliateId, from, to);
    const result = await destination.applyChanges(table, connector.affiliateId, {
      from,
      to,
      rows: rows.stream,
      deletions,
    });

    await recordSyncProgress(deps.pool, connector.id, table.name, to, false);
    step.log.info({ table: table.name, cursorSeq: to.seq, ...result }, 'changes applied');
    from = to;
  }
}

async function recordFailure(
  deps: LiveSyncDeps,
  connector: ConnectorRecord,
  table: string,
  error: unknown,
  log: Logger,
) {
  const failure = asError(error);
  const code = failure instanceof AppError ? failure.code : 'INTERNAL';
  const message = scrubSecrets(failure.message, []);
  // A failure before any table was reached (connecting, creating tables) is every table's.
  const tables = table === ALL_TABLES ? allTables.map((t) => t.name) : [table];
  for (const name of tables) await recordSyncFailure(deps.pool, connector.id, name, code, message);

  if (await restIfUnreachable(deps.pool, connector.id, failure, log)) return;
  log.warn(
    { table, errorCode: code, reason: message },
    'live sync step failed; the next step retries',
  );
}

/** While a table stays drifted, its warning is repeated this often (in steps), not every step. */
const DRIFT_WARNING_EVERY_STEPS = 30;

/**
 * Each drifted table's status says what is wrong with it, every step until it is put right;
 * the connector is not rested, so the first step after the fix syncs it again.
 */
async function recordDrift(
  deps: LiveSyncDeps,
  connector: ConnectorRecord,
  drift: SchemaDriftError,
  log: Logger,
) {
  for (const table of drift.tables) {
    const message = drift.about([table])!.message;
    const failures = await recordSyncFailure(deps.pool, connector.id, table, drift.code, message);
    if (failures % DRIFT_WARNING_EVERY_STEPS !== 1) continue;

    log.warn(
      { table, errorCode: drift.code, consecutiveFailures: failures, reason: message },
      `mirror table ${table} was changed in a way the mirror cannot repair; it is not synced until someone puts it right`,
    );
  }
}

/**
 * One step of the continuous mirror for one connector: every table's changes since its cursor,
 * up to the change horizon; tables a customer changed beyond repair are skipped and their
 * status says why. The caller holds the connector's writer lock.
 */
export async function syncConnector(deps: LiveSyncDeps, connector: ConnectorRecord): Promise<void> {
  const log = deps.logger.child({ connectorId: connector.id, affiliateId: connector.affiliateId });
  let destination: Destination | undefined;
  let current = ALL_TABLES;

  try {
    const settings = connectionSettings(connector, deps.cipher);
    destination = openDestination(settings, log);
    const { ready, drift } = await prepareMirrorTables(destination, allTables, log);
    if (drift) await recordDrift(deps, connector, drift, log);

    const horizon = await changeHorizon(deps.pool);
    const step = { deps, connector, destination, horizon, log };
    for (const table of ready) {
      current = table.name;
      await syncTable(step, table);
    }
  } catch (error: unknown) {
    await recordFailure(deps, connector, current, error, log);
  } finally {
    await destination?.close().catch(() => undefined);
  }
}
