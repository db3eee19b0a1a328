/**
 * Failures of the SQL Server engine in the service's terms: DESTINATION_FAILED (or
 * CONNECTION_TEST_FAILED) with the server's message and error number, classified for retries
 * by that number or by tedious's and Node's codes, and never quoting the password.
 */
import { AppError, asError, type ErrorCode, type RetryClass } from '../../errors.ts';
import { scrubSecrets, type Secret } from '../../secret.ts';
import type { ConnectionSettings } from '../destination.ts';
import { CopyTextFormatError } from '../../mirror/copy-text-parser.ts';
import { APPLOCK_NOT_GRANTED } from './bookkeeping.ts';
import { CONNECT_TIMEOUT_MS } from './connection.ts';

/**
 * Server error numbers worth retrying: deadlock victim (1205), lock request timeout (1222),
 * client timeout (-2), connection-level failures (233, 64), database not available now (4060),
 * Azure SQL's service busy, throttling and failover errors, and the mirror's own write lock
 * not granted in time.
 */
const TRANSIENT_NUMBERS = new Set([
  -2,
  64,
  233,
  1205,
  1222,
  4060,
  10928,
  10929,
  40197,
  40501,
  40613,
  49918,
  49919,
  49920,
  APPLOCK_NOT_GRANTED,
]);

/** Wrong user or password: retrying soon only locks the account or floods the server's log. */
const CREDENTIAL_NUMBERS = new Set([18456]);

/** Node's codes for network failures before the server said anything, in an operator's words. */
const NETWORK_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server or a firewall',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'no answer in time',
  EPIPE: 'connection closed by the server',
};

const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN']);

interface DriverError {
  message: string;
  /** tedious: ELOGIN, ESOCKET, ETIMEOUT, EENCRYPT, EREQUEST...; Node: ECONNREFUSED... */
  code?: unknown;
  /** The server's error number (RequestError, or a login error as `open` annotates it). */
  number?: unknown;
  cause?: unknown;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** The server's error number, when the server sent one. */
export function serverErrorNumber(error: unknown): number | undefined {
  const number = (error as DriverError | undefined)?.number;
  return typeof number === 'number' ? number : undefined;
}

/**
 * The network failure under a tedious ESOCKET error: its `cause`, which is an AggregateError
 * of one failure per address tried when the host name has several (the last one counts).
 */
function networkCode(error: DriverError): string {
  const cause = error.cause;
  if (cause instanceof AggregateError) {
    const last: unknown = cause.errors.at(-1);
    return codeOf(last) || codeOf(error);
  }
  return codeOf(cause) || codeOf(error);
}

/** How a failure of this engine should be retried. */
export function retryClassOf(failure: unknown): RetryClass {
  const error = asError(failure) as DriverError & Error;
  const number = serverErrorNumber(error);
  const code = codeOf(error);

  if (number !== undefined) {
    if (CREDENTIAL_NUMBERS.has(number)) return 'unreachable';
    return TRANSIENT_NUMBERS.has(number) ? 'transient' : 'permanent';
  }
  if (code === 'ELOGIN') return 'unreachable';
  if (DNS_FAILURES.has(networkCode(error))) return 'unreachable';
  if (code === 'ETIMEOUT' || code === 'ECONNRESET') return 'transient';
  if (code === 'ESOCKET') return isCertificateFailure(error) ? 'permanent' : 'transient';
  if (networkCode(error) in NETWORK_FAILURES) return 'transient';
  return 'permanent';
}

function isCertificateFailure(error: DriverError): boolean {
  const text = `${networkCode(error)} ${error.message}`;
  return /CERT|certificate|self[- ]signed|altname|TLS|SSL/i.test(text);
}

/** The server's message with its number, so that an operator can look it up. */
function serverMessage(error: DriverError, number: number): string {
  return `${error.message} (SQL Server error ${number})`;
}

/** Why a connection could not be opened or was lost, in the words of what stopped it. */
function connectionMessage(error: DriverError, settings: ConnectionSettings): string {
  const address = `${settings.host}:${settings.port}`;
  const code = codeOf(error);
  const network = networkCode(error);

  if (code === 'ELOGIN') return `login to ${address} failed: ${error.message}`;
  if (DNS_FAILURES.has(network)) return `could not resolve host "${settings.host}"`;
  if (code === 'ETIMEOUT') {
    const seconds = CONNECT_TIMEOUT_MS / 1000;
    return `could not connect to ${address}: no answer within ${seconds} s (${error.message})`;
  }
  const described = NETWORK_FAILURES[network];
  if (described) return `could not connect to ${address}: ${described}`;
  if (code === 'EENCRYPT' || isCertificateFailure(error)) {
    return `secure connection to ${address} failed: ${error.message}`;
  }
  return `could not connect to ${address}: ${error.message}`;
}

function toAppError(
  code: ErrorCode,
  failure: unknown,
  password: Secret,
  describe: (error: DriverError, number: number | undefined) => string,
): AppError {
  if (failure instanceof AppError) return failure;

  const error = asError(failure) as DriverError & Error;
  const detail = scrubSecrets(describe(error, serverErrorNumber(error)), [password]);
  return new AppError(code, detail, { cause: error, retryClass: retryClassOf(error) });
}

/**
 * A failed statement, bulk load or connection during an operation as DESTINATION_FAILED,
 * saying what was being done.
 */
export function destinationFailure(
  failure: unknown,
  settings: ConnectionSettings,
  doing: string,
): AppError {
  return toAppError('DESTINATION_FAILED', failure, settings.password, (error, number) => {
    if (error instanceof CopyTextFormatError) {
      return `${doing} failed: the source rows are not valid COPY text: ${error.message}`;
    }
    const isLogin = codeOf(error) === 'ELOGIN';
    const reason =
      number !== undefined && !isLogin
        ? serverMessage(error, number)
        : connectionMessage(error, settings);
    return `${doing} failed: ${reason}${isLogin && number !== undefined ? ` (SQL Server error ${number})` : ''}`;
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
  return toAppError('CONNECTION_TEST_FAILED', failure, settings.password, (error, number) => {
    if (step === 'connect' || number === undefined) {
      const reason = connectionMessage(error, settings);
      return number === undefined ? reason : `${reason} (SQL Server error ${number})`;
    }

    const where = `schema "${settings.schema}" of database "${settings.database}"`;
    return `cannot create tables in ${where}: ${serverMessage(error, number)}`;
  });
}
