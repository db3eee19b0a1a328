import path from 'node:path';

import { AppError } from './errors.ts';

export const DEFAULT_PORT = 8080;
export const DEFAULT_DATA_DIR = './.data';
export const DEFAULT_EMBEDDED_POSTGRES_PORT = 54329;
export const DEFAULT_WORKER_CONCURRENCY = 2;
export const DEFAULT_SYNC_INTERVAL_MS = 2_000;
export const DEFAULT_SYNC_CONCURRENCY = 2;

/** Every setting of the service, read once from the environment and validated. */
export interface Config {
  /** The platform store. Unset: an embedded PostgreSQL is started in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  /** 32 bytes, base64 or hex. Unset: a key file in `dataDir` is used (and created). */
  secretKey: string | undefined;
  port: number;
  host: string;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  workerConcurrency: number;
  /** How often the continuous mirror looks for changes; 0 switches it off. */
  syncIntervalMs: number;
  syncConcurrency: number;
}

type Env = Record<string, string | undefined>;

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;

  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AppError('CONFIG_INVALID', `${name} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

function readLogFormat(env: Env): 'json' | 'pretty' {
  const raw = env.AFFILIATE_MIRROR_LOG_FORMAT;
  if (raw === 'json' || raw === 'pretty') return raw;
  if (raw !== undefined && raw !== '') {
    throw new AppError('CONFIG_INVALID', 'AFFILIATE_MIRROR_LOG_FORMAT must be "json" or "pretty".');
  }
  return env.NODE_ENV === 'production' || !process.stdout.isTTY ? 'json' : 'pretty';
}

/** Reads and validates the configuration; a bad value fails at start-up with its name. */
export function loadConfig(env: Env = process.env): Config {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.AFFILIATE_MIRROR_DATA_DIR || DEFAULT_DATA_DIR),
    embeddedPostgresPort: readInteger(
      env,
      'AFFILIATE_MIRROR_EMBEDDED_PG_PORT',
      DEFAULT_EMBEDDED_POSTGRES_PORT,
      1024,
      65535,
    ),
    secretKey: env.AFFILIATE_MIRROR_SECRET_KEY || undefined,
    port: readInteger(env, 'PORT', DEFAULT_PORT, 0, 65535),
    host: env.HOST || '127.0.0.1',
    logLevel: env.LOG_LEVEL || 'info',
    logFormat: readLogFormat(env),
    workerConcurrency: readInteger(
      env,
      'AFFILIATE_MIRROR_WORKER_CONCURRENCY',
      DEFAULT_WORKER_CONCURRENCY,
      1,
      64,
    ),
    syncIntervalMs: readInteger(
      env,
      'AFFILIATE_MIRROR_SYNC_INTERVAL_MS',
      DEFAULT_SYNC_INTERVAL_MS,
      0,
      3_600_000,
    ),
    syncConcurrency: readInteger(
      env,
      'AFFILIATE_MIRROR_SYNC_CONCURRENCY',
      DEFAULT_SYNC_CONCURRENCY,
      1,
      64,
    ),
  };
}
