import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import pg from 'pg';

import type { Logger } from '../logger.ts';

/**
 * Several processes of ours may use one embedded server: the first that finds none starts it,
 * the others join it. The server is stopped by whichever stops last: a process that stops
 * leaves the server running while another client is connected to it, or while the process
 * that started it still runs (that one will stop it). Otherwise it stops the server, also one
 * whose starter was killed without stopping it. The starter's process id is kept in the data
 * dir.
 */

const STARTER_FILE = 'embedded-postgres.owner';
const STOP_TIMEOUT_MS = 60_000;

export interface StopOptions {
  /** Stop the server even while others use it (a test that takes a server away). */
  evenIfInUse?: boolean;
}

/** Records this process as the one that started the server on `dataDir`. */
export async function recordStarter(dataDir: string): Promise<void> {
  await writeFile(path.join(dataDir, STARTER_FILE), `${process.pid}\n`, { mode: 0o600 });
}

async function readStarter(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, STARTER_FILE), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error: unknown) {
    // EPERM: it exists, but is not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A process that has exited but was not reaped yet (its parent died): gone for our purposes. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

interface ServerState {
  /** The postmaster's process id, as the running server itself records it. */
  postmasterPid: number;
  /** Client connections other than the one asking. */
  otherClients: number;
}

async function serverState(connectionString: string): Promise<ServerState | undefined> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const result = await client.query<{ pid: string; others: number }>(
      `SELECT split_part(pg_read_file('postmaster.pid'), E'\\n', 1) AS pid,
              (SELECT count(*)::int FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) AS others`,
    );
    const postmasterPid = Number(result.rows[0]?.pid);
    if (!Number.isInteger(postmasterPid) || postmasterPid <= 0) return undefined;
    return { postmasterPid, otherClients: result.rows[0]!.others };
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Fast shutdown of a server by its process id, waiting until it has gone. */
async function stopPostmaster(postmasterPid: number): Promise<void> {
  try {
    process.kill(postmasterPid, 'SIGINT');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(postmasterPid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops the server this process started as its child, waiting until it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();

  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions and stop cleanly.
    child.kill('SIGINT');
  });
}

/**
 * This process is done with the server: stops it unless someone else still needs it. `child`
 * is the server, when this process started it.
 */
export async function leaveServer(
  dataDir: string,
  connectionString: string,
  logger: Logger,
  child: ChildProcess | undefined,
  options: StopOptions,
): Promise<void> {
  const state = await serverState(connectionString);
  if (state && !options.evenIfInUse) {
    const starter = await readStarter(dataDir);
    const starterRuns = starter !== undefined && starter !== process.pid && isAlive(starter);
    if (state.otherClients > 0 || starterRuns) {
      logger.info(
        { otherClients: state.otherClients },
        'left the embedded PostgreSQL running for the processes still using it',
      );
      // Our process may exit; the server, in a process group of its own, lives on.
      child?.stderr?.destroy();
      child?.unref();
      return;
    }
  }

  if (child) await stopChild(child);
  else if (state) await stopPostmaster(state.postmasterPid);
  await rm(path.join(dataDir, STARTER_FILE), { force: true });
}
