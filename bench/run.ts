/**
 * `npm run bench`: builds synthetic data with the repo's generator, runs the service as an
 * operator would (API process, worker processes), and measures side by side on this machine:
 * reloads (first mirror, identical and changed re-mirror) against plain COPY, a naive INSERT
 * and pgloader; ingest rate; live sync lag; worker peak memory. See docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { createLogger } from '../src/logger.ts';
import { ApiClient, connectionFields } from './api-client.ts';
import {
  affiliates,
  changeSourceRows,
  countClicks,
  createTenants,
  dayRanges,
  generateClicks,
  windowOfDays,
} from './bench-data.ts';
import { startBenchServer, type BenchServer } from './bench-server.ts';
import {
  freshSchema,
  measureCopy,
  measureInsert,
  measurePgloader,
  type BaselineRun,
} from './baselines.ts';
import { createProfileTables, profileChunks } from './chunk-profile.ts';
import { Cleanup } from './cleanup.ts';
import { measureIngest, measureLag } from './ingest.ts';
import { parseOptions, type BenchOptions } from './options.ts';
import { CommanderError } from 'commander';
import { formatReport, type BenchResults } from './report.ts';
import { measureReload, type ReloadRun } from './reload-cases.ts';
import { startApi, startWorker, type ServiceEnv } from './service-processes.ts';

const repoDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const logger = createLogger({ level: 'info', format: 'pretty', destination: 2 });

function say(message: string) {
  process.stderr.write(`bench: ${message}\n`);
}

function machineLines(server: BenchServer, options: BenchOptions): string[] {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout ?? '';
  const model = /^Model name:\s+(.+)$/m.exec(lscpu)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const load = os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return [
    `affiliate-mirror bench: ${options.rows.toLocaleString('en-US')} clicks, ` +
      `${options.rowsPerDay.toLocaleString('en-US')} a day (one chunk each)`,
    `machine: ${model}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
      `Node ${process.version}; PostgreSQL ${server.postgresVersion}; load average at start ${load}`,
    `store: the embedded PostgreSQL; destination: ${server.destinationKind}`,
    `destination settings: ${server.postgresSettings}`,
  ];
}

/** Node options that write a CPU profile into `dir` when the process exits. */
function cpuProfile(dir: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

interface Context {
  options: BenchOptions;
  server: BenchServer;
  env: ServiceEnv;
  api: ApiClient;
  cleanup: Cleanup;
  results: BenchResults;
}

/** Ingest rate, then live sync lag: first, while no reload connector exists to be synced. */
async function measureEventsApi(context: Context) {
  const { options, server, env, api, cleanup, results } = context;
  if (options.ingest) {
    say('ingest rate');
    results.ingest = await measureIngest(api, affiliates.ingest, {
      total: options.ingestEvents,
      batchSize: options.ingestBatch,
      concurrency: options.ingestConcurrency,
    });
  }
  if (!options.lag) return;

  say(`live sync lag, ${options.lagSeconds} s at ${options.lagRate} events/s`);
  const schema = 'bench_lag';
  await freshSchema(server.destination, schema, cleanup);
  const fields = connectionFields(server.destinationUrl);
  const connectorId = await api.createConnector(affiliates.lag, fields, schema);
  const worker = await startWorker(env, 'worker-live-sync', { liveSync: true }, cleanup);
  try {
    await waitForTable(server, `${schema}.clicks`);
    results.lag = await measureLag(api, server.destination, schema, affiliates.lag, {
      eventsPerSecond: options.lagRate,
      seconds: options.lagSeconds,
      batchSize: Math.max(1, Math.round(options.lagRate / 4)),
      drainSeconds: 60,
    });
  } finally {
    await worker.stop();
    await api.request('DELETE', `/v1/affiliates/connectors/${connectorId}`, undefined, [200, 204]);
  }
}

/** The live sync's first step creates the mirror tables; the lag clock starts after it. */
async function waitForTable(server: BenchServer, table: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const found = await server.destination.query<{ t: string | null }>(
      'SELECT to_regclass($1)::text AS t',
      [table],
    );
    if (found.rows[0]!.t) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${table} was not created by the live sync within 60 s`);
}

async function measureReloads(context: Context) {
  const { options, server, env, api, cleanup, results } = context;
  const days = Math.ceil(options.rows / options.rowsPerDay);
  const window = windowOfDays(days);
  const rows = await countClicks(server.store.pool, affiliates.reload, window.range);
  const reloadRun: ReloadRun = { env, api, cleanup };
  const fields = connectionFields(server.destinationUrl);

  await freshSchema(server.destination, 'bench_mirror', cleanup);
  const connectorId = await api.createConnector(affiliates.reload, fields, 'bench_mirror');

  say('reload: first mirror');
  const cpuProf = options.workerCpuProf ? cpuProfile(env.logDir) : [];
  results.firstMirror = await measureReload(
    { ...reloadRun, nodeOptions: cpuProf },
    'first mirror',
    connectorId,
    window,
    rows,
  );
  say('reload: identical re-mirror');
  results.identical = await measureReload(reloadRun, 'identical', connectorId, window, rows);

  const profileRanges = dayRanges(Math.min(days, options.profileDays));
  if (profileRanges.length > 0) {
    say('chunk profile: empty and identical');
    await freshSchema(server.destination, 'bench_profile', cleanup);
    await createProfileTables(server.destination, 'bench_profile');
    for (const label of ['first mirror', 'identical']) {
      results.profiles.push(
        await profileChunks(
          label,
          server.store.pool,
          server.destination,
          'bench_profile',
          affiliates.reload,
          profileRanges,
        ),
      );
    }
  }

  const baselineRun: BaselineRun = {
    store: server.store.pool,
    destination: server.destination,
    destinationUrl: server.destinationUrl,
    affiliateId: affiliates.reload,
    range: window.range,
    cleanup,
  };
  say('plain COPY');
  results.copy = await measureCopy(baselineRun);
  if (options.insert) {
    say('multi-row INSERT');
    results.insert = await measureInsert(baselineRun);
  }
  say('pgloader');
  results.pgloader =
    (await measurePgloader(baselineRun, path.join(env.logDir, 'pgloader.log'))) ?? 'not installed';
  if (results.pgloader === 'not installed') say('pgloader: not installed');

  say('changing 10% and deleting 1% of the source rows');
  const changes = await changeSourceRows(server.store.pool, affiliates.reload, window.range);
  say('reload: changed re-mirror');
  const changed = await measureReload(reloadRun, 'changed', connectorId, window, rows);
  results.changed = { ...changed, ...changes };
  if (profileRanges.length > 0) {
    say('chunk profile: changed');
    results.profiles.push(
      await profileChunks(
        '10% changed',
        server.store.pool,
        server.destination,
        'bench_profile',
        affiliates.reload,
        profileRanges,
      ),
    );
  }
}

/** Worker peak memory on a ~1M-row and a ~5M-row window, each a first mirror of its own. */
async function measureMemory(context: Context) {
  const { options, server, env, api, cleanup, results } = context;
  const fields = connectionFields(server.destinationUrl);
  const sizes: Array<[string, number]> = options.skip5m
    ? [['1M', 1e6]]
    : [
        ['1M', 1e6],
        ['5M', 5e6],
      ];

  for (const [label, size] of sizes) {
    const window = windowOfDays(Math.ceil(size / options.rowsPerDay));
    const rows = await countClicks(server.store.pool, affiliates.reload, window.range);
    const schema = `bench_window_${label.toLowerCase()}`;
    await freshSchema(server.destination, schema, cleanup);
    const connectorId = await api.createConnector(affiliates.reload, fields, schema);

    say(`worker memory: ${label} window`);
    const reload = await measureReload(
      { env, api, cleanup },
      `${label} window`,
      connectorId,
      window,
      rows,
    );
    results.memory.push({
      label,
      rows,
      peakRssMb: reload.workerPeakRssMb,
      seconds: reload.seconds,
    });
  }
}

/**
 * One generation covers every window: the reload window is its first days, and the memory
 * windows (1M and 5M rows at the same rows per day) its first days too.
 */
async function generateData(options: BenchOptions, server: BenchServer, results: BenchResults) {
  const memoryClicks = options.memory ? (options.skip5m ? 1_000_000 : 5_000_000) : 0;
  const clicks = Math.max(options.rows, memoryClicks);
  const days = Math.ceil(clicks / options.rowsPerDay);

  say(`generating ${clicks.toLocaleString('en-US')} clicks over ${days} days`);
  const started = performance.now();
  const report = await generateClicks(server.store.pool, affiliates.reload, clicks, days, logger);
  const rows = Object.values(report.rowsInserted).reduce((sum, n) => sum + n, 0);
  results.generation = { rows, seconds: (performance.now() - started) / 1000 };
}

/** Options, or the exit code when commander already answered (--help, a bad option). */
function readOptions(): BenchOptions | number {
  try {
    return parseOptions(process.argv);
  } catch (error: unknown) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}

async function main() {
  const options = readOptions();
  if (typeof options === 'number') {
    process.exitCode = options;
    return;
  }
  const cleanup = new Cleanup();
  cleanup.onSignals();

  try {
    const logDir = path.join(repoDir, '.bench-data', 'logs');
    await rm(logDir, { recursive: true, force: true });
    await mkdir(logDir, { recursive: true });

    const server = await startBenchServer(
      { repoDir, port: options.pgPort, destinationUrl: options.destination, logger },
      cleanup,
    );
    const token = await createTenants(server.store.pool);
    const env: ServiceEnv = {
      storeUrl: server.storeUrl,
      secretKey: randomBytes(32).toString('base64'),
      logDir,
      repoDir,
    };
    const results: BenchResults = {
      machine: machineLines(server, options),
      rows: 0,
      memory: [],
      profiles: [],
    };
    await generateData(options, server, results);

    const apiNodeOptions = options.apiCpuProf ? cpuProfile(logDir) : [];
    const apiProcess = await startApi(env, options.apiPort, apiNodeOptions, cleanup);
    const api = new ApiClient(apiProcess.url, token);
    say(`API at ${apiProcess.url}; logs in ${logDir}`);
    const context: Context = { options, server, env, api, cleanup, results };

    await measureEventsApi(context);
    if (options.reload) await measureReloads(context);
    if (options.memory) await measureMemory(context);

    results.rows = results.firstMirror?.rows ?? 0;
    results.machine.push(
      `load average at end ${os
        .loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}`,
    );
    await cleanup.runAll();
    process.stdout.write(formatReport(results));
  } catch (error: unknown) {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await cleanup.runAll();
    process.exitCode = 1;
  }
}

await main();
