import type pg from 'pg';

import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { markConnectorBroken } from '../store/connectors-store.ts';

/** Bad credentials or an unknown host: the connector rests this long before the next try. */
export const BROKEN_CONNECTOR_PAUSE_SECONDS = 300;

/**
 * Rests the connector (live sync skips it, its status says why) when the failure means
 * retrying soon would only hammer the customer's server. Returns whether it did. `log` is the
 * caller's, which already names the connector.
 */
export async function restIfUnreachable(
  pool: pg.Pool,
  connectorId: number,
  error: unknown,
  log: Logger,
): Promise<boolean> {
  if (!(error instanceof AppError) || error.retryClass !== 'unreachable') return false;

  await markConnectorBroken(pool, connectorId, BROKEN_CONNECTOR_PAUSE_SECONDS, error.message);
  log.warn(
    { pauseSeconds: BROKEN_CONNECTOR_PAUSE_SECONDS, reason: error.message },
    'connector marked broken: credentials or host',
  );
  return true;
}
