import pg from 'pg';

import type { Logger } from '../../logger.ts';
import { keepErrorsOffTheProcess } from '../../sql/pg-client-errors.ts';
import type { ConnectionSettings } from '../destination.ts';

/** Each destination is written by one chunk at a time; one spare for a connection test. */
const POOL_MAX_CONNECTIONS = 2;
const CONNECTION_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 30_000;
const APPLICATION_NAME = 'affiliate-mirror';

/**
 * Opens the pool for one destination. The password goes to the driver as a field of its own,
 * never inside a connection string that could be logged or quoted in an error.
 */
export function createPool(settings: ConnectionSettings, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.username,
    password: settings.password.reveal(),
    ssl: settings.useSsl ? { rejectUnauthorized: true } : false,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    // Loads can run for minutes; keepalives stop firewalls from dropping a quiet connection.
    keepAlive: true,
    max: POOL_MAX_CONNECTIONS,
  });

  // An idle connection that dies (server restart, network) is reported here; without a
  // listener the 'error' event would crash the whole service.
  pool.on('error', (error) => {
    logger.warn({ sqlState: sqlStateOf(error), reason: error.message }, 'idle connection lost');
  });
  pool.on('connect', keepErrorsOffTheProcess);
  return pool;
}

/** `postgresql://user@host:port/database`: for logs and messages, never with the password. */
export function describeConnection(settings: ConnectionSettings): string {
  const user = encodeURIComponent(settings.username);
  return `postgresql://${user}@${settings.host}:${settings.port}/${settings.database}`;
}

/** The SQLSTATE of a server error; undefined for network and other client-side errors. */
export function sqlStateOf(error: unknown): string | undefined {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  // Node's system errors carry the failed call; their codes can look like one (EPIPE).
  if (typeof syscall === 'string') return undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
