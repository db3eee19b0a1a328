/**
 * The few calls of the service's HTTP API the bench makes, over real HTTP (Node's fetch), as a
 * client of the service would.
 */

const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const POLL_MS = 100;

export interface ExecutionView {
  executionId: string;
  status: string;
  progress: { rowsRead: number; rowsWritten: number; rowsDeleted: number; chunksTotal: number };
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface DatabaseFields {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/** The parts of a postgres:// URL a connector is made of. */
export function connectionFields(url: string): DatabaseFields {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

export class ApiClient {
  readonly #baseUrl: string;
  readonly #token: string;

  constructor(baseUrl: string, token: string) {
    this.#baseUrl = baseUrl;
    this.#token = token;
  }

  /** One request; a status other than `expected` throws with the problem's body. */
  async request<T>(method: string, path: string, body?: string, expected = [200]): Promise<T> {
    const response = await fetch(`${this.#baseUrl}${path}`, {
      method,
      headers: {
        authorization: `ApiKey ${this.#token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body,
    });
    const text = await response.text();
    if (!expected.includes(response.status)) {
      throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async createConnector(affiliateId: number, database: DatabaseFields, schema: string) {
    const body = { affiliateId, engine: 'PostgresSQL', useSsl: false, schema, ...database };
    const created = await this.request<{ id: number }>(
      'POST',
      '/v1/affiliates/connectors',
      JSON.stringify(body),
      [201],
    );
    return created.id;
  }

  async reload(connectorId: number, fromDate: string, toDate: string): Promise<string> {
    const body = JSON.stringify({ dataType: 'clicks', fromDate, toDate });
    const queued = await this.request<{ executionId: string }>(
      'POST',
      `/v1/affiliates/connectors/${connectorId}/reload`,
      body,
      [202],
    );
    return queued.executionId;
  }

  /** Polls GET /v1/executions/{id} every 100 ms until the execution has ended. */
  async waitForExecution(executionId: string, timeoutMs: number): Promise<ExecutionView> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const view = await this.request<ExecutionView>('GET', `/v1/executions/${executionId}`);
      if (TERMINAL.includes(view.status)) return view;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`execution ${executionId} did not end within ${timeoutMs / 1000} s`);
  }

  /** POSTs an already serialised events body; returns how many events were accepted. */
  async postEvents(affiliateId: number, body: string): Promise<number> {
    const result = await this.request<{ accepted: number; rejected: unknown[] }>(
      'POST',
      `/v1/affiliates/${affiliateId}/events`,
      body,
    );
    if (result.rejected.length > 0) {
      throw new Error(`events rejected: ${JSON.stringify(result.rejected.slice(0, 3))}`);
    }
    return result.accepted;
  }
}

/** Waits for GET /health to answer 200. */
export async function waitForHealth(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${baseUrl}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${baseUrl}/health did not answer within ${timeoutMs / 1000} s`);
}
