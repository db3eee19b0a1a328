import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { engines, type ConnectionSettings, type Destination, type Engine } from './destination.ts';
import { PostgresDestination } from './postgres/postgres-destination.ts';
import { SqlServerDestination } from './sqlserver/sqlserver-destination.ts';

type DestinationFactory = (settings: ConnectionSettings, logger: Logger) => Destination;

/** The one place that knows which class serves which engine; add an engine here. */
const factories: Record<Engine, DestinationFactory> = {
  PostgresSQL: (settings, logger) => new PostgresDestination(settings, logger),
  SqlServer: (settings, logger) => new SqlServerDestination(settings, logger),
};

/**
 * Opens the destination for a connector's settings. Nothing connects until the first
 * operation; call `close()` when done.
 *
 * @example
 * const destination = openDestination(settings, logger);
 * try {
 *   await destination.testConnection();
 * } finally {
 *   await destination.close();
 * }
 */
export function openDestination(settings: ConnectionSettings, logger: Logger): Destination {
  // Settings may come from stored rows or requests, so the engine is checked at run time too.
  if (!Object.hasOwn(factories, settings.engine)) {
    throw AppError.invalidField(
      'DESTINATION_ENGINE_UNSUPPORTED',
      'engine',
      `"${String(settings.engine)}" is not one of ${engines.join(', ')}`,
    );
  }

  return factories[settings.engine](settings, logger);
}
