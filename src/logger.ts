import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that are censored wherever they appear in a log line, as a second line of defence
 * behind {@link Secret}: a password typed into a plain object must still not reach the log.
 */
const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'connectionString',
  '*.connectionString',
  'secretKey',
  '*.secretKey',
  'token',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
];

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** 1 (stdout, the default), 2 (stderr, for CLI commands), or a stream (JSON only). */
  destination?: 1 | 2 | NodeJS.WritableStream;
}

/** JSON lines in production; coloured single lines for a person at a terminal. */
export function createLogger(options: LoggerOptions): Logger {
  const fd = options.destination ?? 1;
  const settings = {
    level: options.level,
    base: { service: 'affiliate-mirror' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (typeof fd === 'object') return pino(settings, fd);
  if (options.format === 'json') return pino(settings, pino.destination(fd));

  const pretty = {
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    destination: fd,
  };
  return pino({ ...settings, transport: { target: 'pino-pretty', options: pretty } });
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
