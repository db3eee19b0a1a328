import { AppError, asError, type ErrorCode, type RetryClass } from '../../errors.ts';
import { scrubSecrets, type Secret } from '../../secret.ts';
import type { ConnectionSettings } from '../destination.ts';
import { sqlStateOf } from './connection.ts';

/** Node's codes for failures before PostgreSQL said anything, in words an operator can act on. */
const NETWORK_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server or a firewall',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'no answer in time',
  EPIPE: 'connection closed by the server',
};

const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATEs worth retrying: connection problems (class 08), serialization failures and
 * deadlocks, insufficient resources (53), operator intervention such as a restart (57P0x),
 * a lock not available now, and system errors (58).
 */
const TRANSIENT_SQLSTATE = /^(08...|40001|40P01|53...|57P0[1-5]|55P03|58...)$/;
/** Wrong password, unknown role, role not allowed to log in. */
const CREDENTIAL_SQLSTATE = /^(28000|28P01)$/;

/** How a failure of this engine should be retried, by SQLSTATE or by Node's network code. */
export function retryClassOf(error: DriverError): RetryClass {
  const code = typeof error.code === 'string' ? error.code : '';
  const sqlState = sqlStateOf(error);

  if (sqlState) {
    if (CREDENTIAL_SQLSTATE.test(sqlState)) return 'unreachable';
    return TRANSIENT_SQLSTATE.test(sqlState) ? 'transient' : 'permanent';
  }
  if (DNS_FAILURES.has(code)) return 'unreachable';
  if (code in NETWORK_FAILURES) return 'transient';
  // pg reports a connection that died mid-query or could not be opened in time without a code.
  if (/connection terminated|timeout|connection ended|not queryable/i.test(error.message)) {
    return 'transient';
  }
  return 'permanent';
}

interface DriverError {
  code?: unknown;
  message: string;
  detail?: unknown;
  hint?: unknown;
  where?: unknown;
}

/**
 * The server's message, with its detail, hint and context (for COPY: the line and column at
 * fault) so that one bad row can be found, and the SQLSTATE at the end.
 */
function serverMessage(error: DriverError, sqlState: string): string {
  const parts = [error.message];
  for (const extra of [error.detail, error.hint, error.where]) {
    if (typeof extra === 'string' && extra.length > 0) parts.push(extra);
  }
  return `${parts.join('; ')} (SQLSTATE ${sqlState})`;
}

/** Why a connection could not be opened, in the words of the failure that stopped it. */
function connectionMessage(error: DriverError, settings: ConnectionSettings): string {
  const code = typeof error.code === 'string' ? error.code : '';
  const address = `${settings.host}:${settings.port}`;

  if (DNS_FAILURES.has(code)) return `could not resolve host "${settings.host}"`;

  const network = NETWORK_FAILURES[code];
  if (network) return `could not connect to ${address}: ${network}`;

  if (/timeout/i.test(error.message)) {
    return `could not connect to ${address}: no answer within the connection timeout`;
  }
  if (/ssl|tls|certificate/i.test(`${code} ${error.message}`)) {
    return `secure connection to ${address} failed: ${error.message}`;
  }
  // pg's own connection errors carry no code but say so; anything else is not a connection's.
  if (!code && !/connect/i.test(error.message)) return error.message;
  return `could not connect to ${address}: ${error.message}`;
}

function toAppError(
  code: ErrorCode,
  failure: unknown,
  password: Secret,
  describe: (error: DriverError, sqlState: string | undefined) => string,
): AppError {
  if (failure instanceof AppError) return failure;

  const error = asError(failure) as DriverError & Error;
  const sqlState = sqlStateOf(error);
  const detail = scrubSecrets(describe(error, sqlState), [password]);
  return new AppError(code, detail, { cause: error, sqlState, retryClass: retryClassOf(error) });
}

/**
 * A failed write or DDL statement as DESTINATION_FAILED, saying what was being done, keeping
 * the SQLSTATE for retry decisions and never quoting the password.
 */
export function destinationFailure(
  failure: unknown,
  settings: ConnectionSettings,
  doing: string,
): AppError {
  return toAppError('DESTINATION_FAILED', failure, settings.password, (error, sqlState) => {
    const reason = sqlState ? serverMessage(error, sqlState) : connectionMessage(error, settings);
    return `${doing} failed: ${reason}`;
  });
}

/**
 * A failed connection test as CONNECTION_TEST_FAILED. `step` says how far the test got, so
 * that "cannot log in" and "can log in but not create tables" read differently.
 */
export function connectionTestFailure(
  failure: unknown,
  settings: ConnectionSettings,
  step: 'connect' | 'create',
): AppError {
  return toAppError('CONNECTION_TEST_FAILED', failure, settings.password, (error, sqlState) => {
    if (!sqlState) return connectionMessage(error, settings);
    if (step === 'connect') return serverMessage(error, sqlState);

    const where = `schema "${settings.schema}" of database "${settings.database}"`;
    return `cannot create tables in ${where}: ${serverMessage(error, sqlState)}`;
  });
}
