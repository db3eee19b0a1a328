/**
 * The service as an operator runs it: `serve --no-worker` for the API and `worker` processes
 * beside it, each a child of the bench with its log in the run's log folder. A worker's peak
 * memory is read from the kernel (VmHWM in /proc/<pid>/status), which needs it to be a process
 * of its own; a fresh worker per measurement makes each peak that measurement's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import type { Cleanup } from './cleanup.ts';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 40_000;

export interface ServiceEnv {
  storeUrl: string;
  secretKey: string;
  logDir: string;
  repoDir: string;
}

export interface ServiceProcess {
  pid: number;
  /** The log line that said the process was ready. */
  readyLine: string;
  /** Peak resident memory so far, MiB (VmHWM); undefined once the process is gone. */
  peakRssMb(): number | undefined;
  /** Resident memory when it said it was ready, MiB. */
  readyRssMb: number | undefined;
  stop(): Promise<void>;
}

/** A memory field of /proc/<pid>/status in MiB: VmHWM (peak resident) or VmRSS (now). */
function readMemoryMb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kilobytes = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kilobytes ? Number(kilobytes) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM (the service stops cleanly), SIGKILL if it has not ended in time. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited(child);
  clearTimeout(timer);
}

/** Resolves with the first log line that carries `message`; fails if the child exits first. */
function waitForLogMessage(child: ChildProcess, message: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not log "${message}" within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onExit = () => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready; see its log`));
    };
    child.once('exit', onExit);
    lines.on('line', (line) => {
      if (!line.includes(`"msg":"${message}"`)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(line);
    });
  });
}

export interface StartOptions {
  name: string;
  args: string[];
  /** The log message that says the process is ready. */
  readyMessage: string;
  extraEnv?: Record<string, string>;
  /** Extra node options, such as --cpu-prof. */
  nodeOptions?: string[];
}

/** Starts `affiliate-mirror <args>` as a child process and waits until it is ready. */
export async function startServiceProcess(
  env: ServiceEnv,
  options: StartOptions,
  cleanup: Cleanup,
): Promise<ServiceProcess> {
  const log = createWriteStream(path.join(env.logDir, `${options.name}.log`), { flags: 'a' });
  const child = spawn(
    process.execPath,
    [...(options.nodeOptions ?? []), '--import', 'tsx', 'src/cli/main.ts', ...options.args],
    {
      cwd: env.repoDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: env.storeUrl,
        AFFILIATE_MIRROR_SECRET_KEY: env.secretKey,
        AFFILIATE_MIRROR_LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        ...options.extraEnv,
      },
    },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const undo = cleanup.add(`process ${options.name}`, async () => {
    await stopChild(child);
    log.end();
  });

  let readyLine: string;
  try {
    readyLine = await waitForLogMessage(child, options.readyMessage, options.name);
  } catch (error: unknown) {
    await undo();
    throw error;
  }
  return {
    pid: child.pid!,
    readyLine,
    readyRssMb: readMemoryMb(child.pid!, 'VmRSS'),
    peakRssMb: () => readMemoryMb(child.pid!, 'VmHWM'),
    stop: undo,
  };
}

/** The API alone (`serve --no-worker`) on `port` (0: any free port); its base URL. */
export async function startApi(
  env: ServiceEnv,
  port: number,
  nodeOptions: string[],
  cleanup: Cleanup,
) {
  const api = await startServiceProcess(
    env,
    {
      name: 'api',
      args: ['serve', '--no-worker', '--port', String(port)],
      readyMessage: 'affiliate-mirror is ready',
      nodeOptions,
    },
    cleanup,
  );
  const { url } = JSON.parse(api.readyLine) as { url: string };
  return { ...api, url };
}

/**
 * A worker. `liveSync: false` sets AFFILIATE_MIRROR_SYNC_INTERVAL_MS=0, the service's own
 * switch, so that no sync step competes with a reload being measured.
 */
export function startWorker(
  env: ServiceEnv,
  name: string,
  options: { liveSync: boolean; nodeOptions?: string[] },
  cleanup: Cleanup,
) {
  return startServiceProcess(
    env,
    {
      name,
      args: ['worker'],
      readyMessage: options.liveSync ? 'live sync started' : 'worker started',
      extraEnv: options.liveSync ? {} : { AFFILIATE_MIRROR_SYNC_INTERVAL_MS: '0' },
      nodeOptions: options.nodeOptions,
    },
    cleanup,
  );
}
