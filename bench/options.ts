/** `npm run bench -- [options]`: what can be changed, with defaults that answer issue 5. */
import { Command, InvalidArgumentError } from 'commander';

export interface BenchOptions {
  rows: number;
  rowsPerDay: number;
  destination?: string;
  pgPort: number;
  apiPort: number;
  lagSeconds: number;
  lagRate: number;
  ingestEvents: number;
  ingestBatch: number;
  ingestConcurrency: number;
  profileDays: number;
  skip5m: boolean;
  memory: boolean;
  lag: boolean;
  ingest: boolean;
  insert: boolean;
  reload: boolean;
  workerCpuProf: boolean;
  apiCpuProf: boolean;
}

function positiveInteger(max: number) {
  return (value: string): number => {
    const number = Number(value.replaceAll('_', ''));
    if (!Number.isInteger(number) || number < 0 || number > max) {
      throw new InvalidArgumentError(`must be an integer from 0 to ${max}.`);
    }
    return number;
  };
}

function postgresUrl(value: string): string {
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new InvalidArgumentError('must be a postgres:// URL.');
  }
  return value;
}

export function parseOptions(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description(
      'Measures reloads, live sync, ingest and worker memory of affiliate-mirror on this ' +
        'machine; ends with one JSON line.',
    )
    .option('--rows <n>', 'clicks in the reload window', positiveInteger(1e9), 2_000_000)
    .option('--rows-per-day <n>', 'clicks per UTC day (one chunk)', positiveInteger(1e8), 100_000)
    .option(
      '--destination <url>',
      'PostgreSQL to mirror into (default: a second database on the embedded server)',
      postgresUrl,
    )
    .option('--pg-port <n>', 'port of the embedded PostgreSQL', positiveInteger(65535), 54349)
    .option('--api-port <n>', 'port of the API (0: any free one)', positiveInteger(65535), 0)
    .option(
      '--lag-seconds <n>',
      'how long the steady ingest of the lag test runs',
      positiveInteger(3600),
      60,
    )
    .option('--lag-rate <n>', 'events per second of the lag test', positiveInteger(1e6), 2_000)
    .option('--ingest-events <n>', 'events of the ingest test', positiveInteger(1e8), 200_000)
    .option('--ingest-batch <n>', 'events per ingest request', positiveInteger(10_000), 5_000)
    .option('--ingest-concurrency <n>', 'ingest requests in flight', positiveInteger(64), 4)
    .option(
      '--profile-days <n>',
      'day chunks timed step by step (0: none)',
      positiveInteger(1000),
      3,
    )
    .option('--skip-5m', 'measure worker memory on a 1M-row window only')
    .option('--no-memory', 'skip the 1M/5M worker memory windows')
    .option('--no-lag', 'skip the live sync lag test')
    .option('--no-ingest', 'skip the ingest rate test')
    .option('--no-insert', 'skip the multi-row INSERT baseline (slow)')
    .option('--no-reload', 'skip the reloads and their baselines')
    .option('--api-cpu-prof', 'write a CPU profile of the API process to the log dir')
    .option('--worker-cpu-prof', "write a CPU profile of the first mirror's worker to the log dir")
    .exitOverride();

  program.parse(argv);
  const options = program.opts<BenchOptions>();
  if (options.rows < 1 || options.rowsPerDay < 1) {
    throw new InvalidArgumentError('--rows and --rows-per-day must be at least 1.');
  }
  return {
    ...options,
    skip5m: options.skip5m ?? false,
    workerCpuProf: options.workerCpuProf ?? false,
    apiCpuProf: options.apiCpuProf ?? false,
  };
}
