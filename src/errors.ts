/**
 * The error catalogue: every failure the service reports on purpose has a stable code here,
 * with the HTTP status it maps to and a title an operator can read. Clients match on `code`;
 * titles and details may be reworded, codes may not.
 */
export const errorCatalogue = {
  AUTH_MISSING: { status: 401, title: 'An Authorization header "ApiKey <token>" is required.' },
  AUTH_INVALID: { status: 401, title: 'The API token is unknown or revoked.' },
  POLICY_FORBIDDEN: { status: 403, title: "The token's policy does not allow this operation." },
  FEATURE_DISABLED: { status: 403, title: 'The affiliate does not have the required feature.' },
  AFFILIATE_FORBIDDEN: { status: 403, title: 'The token does not give access to this affiliate.' },
  AFFILIATE_NOT_FOUND: { status: 404, title: 'No such affiliate.' },
  CONNECTOR_NOT_FOUND: { status: 404, title: 'No such connector for the affiliates you can see.' },
  EXECUTION_NOT_FOUND: { status: 404, title: 'No such execution for the affiliates you can see.' },
  EVENT_NOT_FOUND: { status: 404, title: 'No such event for this affiliate.' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route.' },
  URL_MALFORMED: { status: 400, title: 'The URL path is not valid percent-encoding.' },
  URL_SEGMENT_TOO_LONG: { status: 414, title: 'A segment of the URL path is too long.' },
  CONNECTOR_DISABLED: { status: 409, title: 'The connector is disabled; enable it first.' },
  BODY_MALFORMED: { status: 400, title: 'The request body is not valid JSON.' },
  BODY_TOO_LARGE: { status: 413, title: 'The request body is too large.' },
  BODY_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json.' },
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid.' },
  RELOAD_DATA_TYPE_INVALID: { status: 400, title: 'Unknown dataType.' },
  RELOAD_DATE_MISSING: { status: 400, title: 'A date of the reload window is missing.' },
  RELOAD_DATE_INVALID: { status: 400, title: 'A date of the reload window cannot be read.' },
  RELOAD_WINDOW_INVALID: { status: 400, title: 'fromDate is after toDate.' },
  TIME_ZONE_INVALID: { status: 400, title: 'Not an IANA time zone name.' },
  CONNECTION_TEST_FAILED: { status: 400, title: 'The destination database could not be used.' },
  DESTINATION_ENGINE_UNSUPPORTED: { status: 400, title: 'This destination engine cannot be used.' },
  DESTINATION_FAILED: { status: 502, title: 'The destination database reported an error.' },
  SCHEMA_DRIFT: {
    status: 409,
    title: 'A mirror table was changed in a way the mirror cannot repair by itself.',
  },
  RECONCILIATION_FAILED: {
    status: 500,
    title: 'The destination does not hold what was read from the source.',
  },
  CHUNK_ALREADY_COMMITTED: { status: 409, title: 'This chunk was already committed.' },
  SYNC_CURSOR_MOVED: { status: 409, title: 'Another writer moved the sync cursor.' },
  EXECUTION_FINISHED: { status: 409, title: 'The execution has already ended.' },
  IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    title: 'This Idempotency-Key was used for a different request.',
  },
  EXECUTION_CANCELLED: { status: 409, title: 'The execution was cancelled.' },
  CONFIG_INVALID: { status: 500, title: 'The service configuration is not valid.' },
  SECRET_KEY_MISMATCH: { status: 500, title: 'A stored password cannot be decrypted.' },
  INTERNAL: { status: 500, title: 'Internal error.' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

/** One problem with one input field, for problem+json `errors`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * What a failure means for a retry: `transient` (try again soon), `unreachable` (bad
 * credentials or a host that does not resolve: retrying soon only hammers the customer's
 * server), or `permanent` (retrying cannot help). Each destination engine decides by its codes.
 */
export type RetryClass = 'transient' | 'unreachable' | 'permanent';

export interface AppErrorOptions {
  cause?: unknown;
  fields?: FieldProblem[];
  sqlState?: string;
  retryClass?: RetryClass;
}

/**
 * The one error class the service throws on purpose. `detail` is shown to clients and operators,
 * so it must never contain a secret; `cause` is kept for the logs and is never sent to clients.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields: FieldProblem[];
  /** The SQLSTATE a database gave for this failure, kept so that retries can choose by code. */
  readonly sqlState?: string;
  readonly retryClass: RetryClass;

  constructor(code: ErrorCode, detail?: string, options?: AppErrorOptions) {
    super(detail ?? errorCatalogue[code].title, { cause: options?.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.fields = options?.fields ?? [];
    if (options?.sqlState) this.sqlState = options.sqlState;
    this.retryClass = options?.retryClass ?? 'permanent';
  }

  /** A 400 that names the field at fault and what would be valid. */
  static invalidField(code: ErrorCode, field: string, message: string): AppError {
    return new AppError(code, `${field}: ${message}`, { fields: [{ field, message }] });
  }
}

/** Narrows `unknown` caught values to an Error without losing non-Error throwables. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
