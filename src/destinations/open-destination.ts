import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { engines, type ConnectionSettings, type Destination, type Engine } from './destination.ts';
import { PostgresDestination } from './postgres/postgres-destination.ts';
import { SqlServerDestination } from './sqlserver/sqlserver-destination.ts';

interface EngineEntry {
  open: (settings: ConnectionSettings, logger: Logger) => Destination;
  /** Where mirror tables go when a connector names no schema: the engine's usual default. */
  defaultSchema: string;
}

/** The one place that knows which class serves which engine; add an engine here. */
const registry: Record<Engine, EngineEntry> = {
  PostgresSQL: {
    open: (settings, logger) => new PostgresDestination(settings, logger),
    defaultSchema: 'public',
  },
  SqlServer: {
    open: (settings, logger) => new SqlServerDestination(settings, logger),
    defaultSchema: 'dbo',
  },
};

/** The schema a connector of `engine` writes to when it names none. */
export function defaultSchemaOf(engine: Engine): string {
  return registry[engine].defaultSchema;
}

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
  if (!Object.hasOwn(registry, settings.engine)) {
    throw AppError.invalidField(
      'DESTINATION_ENGINE_UNSUPPORTED',
      'engine',
      `"${String(settings.engine)}" is not one of ${engines.join(', ')}`,
    );
  }

  return registry[settings.engine].open(settings, logger);
}
