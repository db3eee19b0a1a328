import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Starts `affiliate-mirror worker` as a real process of its own on the given store, without
 * live sync. Killed (SIGKILL) when the test file ends, if it still runs.
 */
export function spawnWorker(env: Record<string, string>): ChildProcess {
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...env,
      LOG_LEVEL: 'warn',
      AFFILIATE_MIRROR_SYNC_INTERVAL_MS: '0',
      AFFILIATE_MIRROR_WORKER_CONCURRENCY: '2',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  after(() => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
  });
  return worker;
}
