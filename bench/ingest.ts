/**
 * The events API under load: how many events one API process takes per second, and how long
 * an accepted event takes to show up in the destination under a steady 2,000 events/s.
 */
import type pg from 'pg';

import { qualifiedName } from '../src/sql/postgres-identifiers.ts';
import type { ApiClient } from './api-client.ts';

const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/124.0.0.0 Safari/537.36';

/** A click event as a tracking client sends it; `id` makes it unique. */
function clickEvent(id: string, occurredAt: string, n: number) {
  return {
    type: 'click',
    id,
    occurredAt,
    brandId: `b${n % 12}`,
    programId: `p${n % 60}`,
    trafficSourceId: `t${n % 9}`,
    linkId: `l${n % 300}`,
    ip: `11.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    device: n % 3 === 0 ? 'mobile' : 'desktop',
    os: n % 3 === 0 ? 'Android' : 'Windows',
    userAgent: USER_AGENT,
    referrer: `https://news.example.com/a/${n % 2000}`,
  };
}

function eventsBody(prefix: string, batch: number, size: number): string {
  const occurredAt = new Date().toISOString();
  const events = Array.from({ length: size }, (_, index) =>
    clickEvent(`${prefix}-${String(batch).padStart(6, '0')}-${index}`, occurredAt, index),
  );
  return JSON.stringify({ events });
}

export interface IngestMeasurement {
  events: number;
  batchSize: number;
  concurrency: number;
  seconds: number;
  eventsPerSecond: number;
}

/**
 * Sends `total` new click events in batches of `batchSize`, `concurrency` requests in flight.
 * The bodies are serialised before the clock starts, so the client's JSON work is not counted.
 */
export async function measureIngest(
  api: ApiClient,
  affiliateId: number,
  options: { total: number; batchSize: number; concurrency: number },
): Promise<IngestMeasurement> {
  const batches = Math.ceil(options.total / options.batchSize);
  const bodies = Array.from({ length: batches }, (_, batch) =>
    eventsBody('ing', batch, options.batchSize),
  );

  let next = 0;
  let events = 0;
  const sender = async () => {
    while (next < bodies.length) {
      const body = bodies[next]!;
      next += 1;
      // Read after the await: `events += await ...` would add to a stale total.
      const accepted = await api.postEvents(affiliateId, body);
      events += accepted;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  const seconds = (performance.now() - started) / 1000;

  return {
    events,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    seconds,
    eventsPerSecond: events / seconds,
  };
}

export interface LagMeasurement {
  eventsPerSecondTarget: number;
  eventsPerSecondSent: number;
  seconds: number;
  events: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
  /** Batches never seen at the destination within the wait after the last one. */
  missingBatches: number;
}

export interface LagOptions {
  eventsPerSecond: number;
  seconds: number;
  /** Events per request; requests go out evenly spaced. */
  batchSize: number;
  /** How long to wait for the last events after sending stopped. */
  drainSeconds: number;
}

const PROBE_MS = 100;

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** Batches sent so far: when the API accepted each, when it was first seen complete. */
interface LagBatch {
  acceptedAt?: number;
  seenAt?: number;
}

/**
 * Watches the destination every 100 ms for the batches not yet seen complete. Ids are
 * `lag-<batch>-<n>` with the batch zero-padded, so one range scan of the primary key finds the
 * pending ones. Lag = first seen complete - API accepted; the probe adds up to 100 ms.
 */
async function probeOnce(
  destination: pg.Pool,
  table: string,
  affiliateId: number,
  batches: LagBatch[],
  batchSize: number,
) {
  const firstPending = batches.findIndex((batch) => batch.seenAt === undefined);
  if (firstPending < 0) return;

  const result = await destination.query<{ batch: string; n: number }>(
    `SELECT substr(id, 5, 6) AS batch, count(*)::int AS n FROM ${table}
      WHERE affiliate_id = $1 AND id >= $2 AND id < 'lag.' GROUP BY 1`,
    [affiliateId, `lag-${String(firstPending).padStart(6, '0')}`],
  );
  const now = performance.now();
  for (const row of result.rows) {
    const batch = batches[Number(row.batch)];
    if (batch && batch.seenAt === undefined && row.n >= batchSize) batch.seenAt = now;
  }
}

export async function measureLag(
  api: ApiClient,
  destination: pg.Pool,
  schema: string,
  affiliateId: number,
  options: LagOptions,
): Promise<LagMeasurement> {
  const table = qualifiedName(schema, 'clicks');
  const intervalMs = (1000 * options.batchSize) / options.eventsPerSecond;
  const batchCount = Math.max(1, Math.round((options.seconds * 1000) / intervalMs));
  const batches: LagBatch[] = [];
  const inFlight: Array<Promise<void>> = [];

  let probing = true;
  const prober = (async () => {
    while (probing) {
      await probeOnce(destination, table, affiliateId, batches, options.batchSize);
      await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
    }
  })();

  const started = performance.now();
  for (let index = 0; index < batchCount; index += 1) {
    const dueAt = started + index * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

    const batch: LagBatch = {};
    batches.push(batch);
    const body = eventsBody('lag', index, options.batchSize);
    inFlight.push(
      api.postEvents(affiliateId, body).then(() => {
        batch.acceptedAt = performance.now();
      }),
    );
  }
  await Promise.all(inFlight);
  const sendSeconds = (performance.now() - started) / 1000;

  const drainUntil = performance.now() + options.drainSeconds * 1000;
  while (batches.some((b) => b.seenAt === undefined) && performance.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
  }
  probing = false;
  await prober;

  const lags = batches
    .filter((b) => b.seenAt !== undefined && b.acceptedAt !== undefined)
    .map((b) => Math.max(0, b.seenAt! - b.acceptedAt!) / 1000)
    .sort((a, b) => a - b);
  const events = batchCount * options.batchSize;
  return {
    eventsPerSecondTarget: options.eventsPerSecond,
    eventsPerSecondSent: events / sendSeconds,
    seconds: sendSeconds,
    events,
    p50Seconds: percentile(lags, 0.5),
    p99Seconds: percentile(lags, 0.99),
    maxSeconds: lags.at(-1) ?? Number.NaN,
    missingBatches: batchCount - lags.length,
  };
}
