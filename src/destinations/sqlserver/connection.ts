/**
 * One connection to a customer's SQL Server, through tedious (the TDS driver for Node.js),
 * wrapped in promises: statements with parameters, plain batches, transactions and the TDS bulk
 * load API.
 *
 * Why tedious directly and not Kysely's MssqlDialect: the rows must reach the server through
 * the bulk load API (`newBulkLoad` / `execBulkLoad`), which needs the raw tedious connection
 * that the dialect keeps to itself, and the temporary staging tables must live on that same
 * connection. Every operation opens one connection of its own and closes it at the end, so
 * nothing (temporary tables, a transaction left open by a failure) carries over to the next.
 */
import { Connection, Request, TYPES, type BulkLoad, type ConnectionConfiguration } from 'tedious';

import type { ConnectionSettings } from '../destination.ts';

/** How long logging in may take, TLS included, before the attempt counts as failed. */
export const CONNECT_TIMEOUT_MS = 10_000;
const APPLICATION_NAME = 'affiliate-mirror';

/** A statement parameter: text goes as nvarchar, so no value is ever rounded on the way. */
export interface Parameter {
  name: string;
  type: 'nvarchar' | 'int';
  value: string | number | null;
}

export type ResultRow = Record<string, unknown>;

/**
 * The driver settings for `settings`. With `useSsl` the connection is encrypted and the
 * server's certificate must be valid for the host name; without it nothing is encrypted. The
 * password is unwrapped here, at the driver call, and nowhere else.
 */
export function connectionConfig(settings: ConnectionSettings): ConnectionConfiguration {
  return {
    server: settings.host,
    authentication: {
      type: 'default',
      options: { userName: settings.username, password: settings.password.reveal() },
    },
    options: {
      port: settings.port,
      database: settings.database,
      encrypt: settings.useSsl,
      trustServerCertificate: false,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Loads can take minutes; a dead peer is found by TCP keepalive, not by a timer here.
      requestTimeout: 0,
      appName: APPLICATION_NAME,
      // Retried by the mirror's own retry policy, which knows the error classes.
      maxRetriesOnTransientErrors: 0,
    },
  };
}

/** `mssql://user@host:port/database`: for logs and messages, never with the password. */
export function describeConnection(settings: ConnectionSettings): string {
  const user = encodeURIComponent(settings.username);
  return `mssql://${user}@${settings.host}:${settings.port}/${settings.database}`;
}

/** A server message seen while logging in; tedious's login error keeps only the text. */
interface ServerMessage {
  number: number;
  message: string;
}

/**
 * An open connection. Statements run one at a time, as TDS requires; each method waits for
 * the previous request to finish because every caller awaits it.
 */
export class SqlServerSession {
  readonly #connection: Connection;

  private constructor(connection: Connection) {
    this.#connection = connection;
  }

  /** Logs in; a failure is the driver's error, with the server's error `number` when it sent one. */
  static open(settings: ConnectionSettings): Promise<SqlServerSession> {
    const connection = new Connection(connectionConfig(settings));
    let loginMessage: ServerMessage | undefined;
    connection.on('errorMessage', (token: ServerMessage) => {
      loginMessage = { number: token.number, message: token.message };
    });
    // A connection that dies later reports through the request that was running; without a
    // listener the 'error' event would crash the process.
    connection.on('error', () => undefined);

    return new Promise((resolve, reject) => {
      connection.connect((error) => {
        if (!error) {
          resolve(new SqlServerSession(connection));
          return;
        }
        if (loginMessage) Object.assign(error, { number: loginMessage.number });
        connection.close();
        reject(error);
      });
    });
  }

  /**
   * Runs one parameterised statement (through sp_executesql) and returns its result rows.
   * Temporary tables created inside it vanish when it ends: create those with `batch`.
   */
  query(sql: string, parameters: Parameter[] = [], timeoutMs?: number): Promise<ResultRow[]> {
    return new Promise((resolve, reject) => {
      const rows: ResultRow[] = [];
      const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
      collectRows(request, rows);
      if (timeoutMs !== undefined) request.setTimeout(timeoutMs);

      for (const parameter of parameters) {
        const type = parameter.type === 'int' ? TYPES.Int : TYPES.NVarChar;
        request.addParameter(parameter.name, type, parameter.value);
      }
      this.#connection.execSql(request);
    });
  }

  /**
   * Runs one data-changing statement and returns how many rows it changed, as the server
   * counts them with @@ROWCOUNT right after it (the driver's own count is absent when the
   * server runs with NOCOUNT on).
   */
  async affected(sql: string, parameters: Parameter[] = []): Promise<number> {
    const rows = await this.query(`${sql};\nSELECT @@ROWCOUNT AS [affected]`, parameters);
    return Number(rows.at(-1)?.affected ?? 0);
  }

  /** Runs a batch without parameters in the session's own scope (temporary tables stay). */
  batch(sql: string, timeoutMs?: number): Promise<ResultRow[]> {
    return new Promise((resolve, reject) => {
      const rows: ResultRow[] = [];
      const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
      collectRows(request, rows);
      if (timeoutMs !== undefined) request.setTimeout(timeoutMs);
      this.#connection.execSqlBatch(request);
    });
  }

  begin(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#connection.beginTransaction((error) => (error ? reject(error) : resolve()));
    });
  }

  commit(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#connection.commitTransaction((error) => (error ? reject(error) : resolve()));
    });
  }

  rollback(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#connection.rollbackTransaction((error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Streams `rows` into `table` with the TDS bulk load API, every column as nvarchar(max)
   * (`length: Infinity` makes tedious send each value as a partially length-prefixed stream,
   * so strings of any length pass whole). Rows are pulled from `rows` as the driver sends
   * them. Resolves with the number of rows the server stored.
   */
  bulkLoad(table: string, columns: string[], rows: AsyncIterable<unknown[]>): Promise<number> {
    return new Promise((resolve, reject) => {
      const bulk = textBulkLoad(this.#connection, table, columns, (error, rowCount) =>
        error ? reject(error) : resolve(rowCount ?? 0),
      );
      this.#connection.execBulkLoad(bulk, rows);
    });
  }

  /** Closes the connection; the server rolls back a transaction still open. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#connection.closed) {
        resolve();
        return;
      }
      this.#connection.once('end', () => resolve());
      this.#connection.close();
    });
  }
}

/**
 * A bulk load of `columns` into `table`, every column nvarchar(max) and NULL-able, NULLs kept
 * as NULL (not replaced by column defaults).
 */
export function textBulkLoad(
  connection: Connection,
  table: string,
  columns: string[],
  done: (error: Error | null | undefined, rowCount?: number) => void,
): BulkLoad {
  const bulk = connection.newBulkLoad(table, { keepNulls: true }, done);
  for (const column of columns) {
    bulk.addColumn(column, TYPES.NVarChar, { nullable: true, length: Infinity });
  }
  return bulk;
}

function collectRows(request: Request, rows: ResultRow[]): void {
  request.on('row', (columns: Array<{ value: unknown; metadata: { colName: string } }>) => {
    const row: ResultRow = {};
    for (const column of columns) row[column.metadata.colName] = column.value;
    rows.push(row);
  });
}
