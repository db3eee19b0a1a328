import { randomBytes } from 'node:crypto';
import { after } from 'node:test';

import { CONNECTOR_FEATURE } from '../../src/api/auth.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startService } from '../../src/service.ts';
import { upsertAffiliate } from '../../src/store/affiliates-store.ts';
import { createToken, type Policy } from '../../src/store/tokens-store.ts';
import { connectionFields, createTestStore } from './databases.ts';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: any;
}

/**
 * The real service (API, queue and worker) on a platform store of its own, for one test file.
 * Stopped, and its database dropped, when the file's tests end.
 */
export async function startTestService(
  label: string,
  options: { worker?: boolean; logStream?: NodeJS.WritableStream; liveSync?: boolean } = {},
) {
  const store = await createTestStore(label, { dropAfterTests: false });
  /** The environment a worker process of this service needs (same store, same key). */
  const workerEnv = {
    DATABASE_URL: store.url,
    AFFILIATE_MIRROR_SECRET_KEY: randomBytes(32).toString('base64'),
    AFFILIATE_MIRROR_LOG_FORMAT: 'json',
  };
  const config = loadConfig({
    ...workerEnv,
    AFFILIATE_MIRROR_WORKER_CONCURRENCY: '2',
    // Reload tests watch one execution at a time; the continuous mirror is switched on by
    // the tests that are about it, at its default settings.
    ...(options.liveSync ? {} : { AFFILIATE_MIRROR_SYNC_INTERVAL_MS: '0' }),
  });
  const logger = createLogger({
    level: options.logStream ? 'debug' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    format: 'json',
    destination: options.logStream,
  });
  const service = await startService(config, logger, {
    api: true,
    worker: options.worker ?? true,
    port: 0,
  });
  after(async () => {
    await service.stop();
    await store.drop();
  });

  async function request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    init: {
      token?: string;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `ApiKey ${init.token}`;
    if (init.body !== undefined || init.rawBody !== undefined)
      headers['content-type'] ??= 'application/json';

    const response = await service.app!.inject({
      method,
      url,
      headers,
      payload: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = response.body;
    return {
      status: response.statusCode,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  }

  /** An affiliate and a token for it. */
  async function tenant(
    id: number,
    policy: Policy = 'AccountAdmin',
    features = [CONNECTOR_FEATURE],
  ) {
    await upsertAffiliate(store.pool, { id, name: `Affiliate ${id}`, features });
    return createToken(store.pool, policy, [id]);
  }

  /** Polls an execution until it ends; fails the test after `timeoutMs`. */
  async function waitForExecution(executionId: string, token: string, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const response = await request('GET', `/v1/executions/${executionId}`, { token });
      if (['succeeded', 'failed', 'cancelled'].includes(response.body?.status))
        return response.body;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`execution ${executionId} did not end within ${timeoutMs} ms`);
  }

  /** A PostgreSQL connector of `affiliateId` to the database at `destinationUrl`; its id. */
  async function connector(
    token: string,
    destinationUrl: string,
    overrides: Record<string, unknown> = {},
  ): Promise<number> {
    const response = await request('POST', '/v1/affiliates/connectors', {
      token,
      body: {
        affiliateId: 7,
        engine: 'PostgresSQL',
        useSsl: false,
        ...connectionFields(destinationUrl),
        ...overrides,
      },
    });
    if (response.status !== 201) throw new Error(`connector: ${JSON.stringify(response.body)}`);
    return response.body.id as number;
  }

  return { store, service, request, tenant, waitForExecution, workerEnv, connector };
}
