import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import pg from 'pg';

import { silentLogger } from '../../src/logger.ts';
import {
  canConnect,
  relocatedClusterDir,
  startEmbeddedPostgres,
} from '../../src/store/embedded-postgres.ts';
import { freePort } from '../support/ports.ts';

const isRoot = process.getuid?.() === 0;

describe('embedded PostgreSQL', () => {
  test(
    'as root, starts with its data dir inside a folder only root may enter',
    { skip: isRoot ? false : 'needs root: only root must hand PostgreSQL to another user' },
    async () => {
      const privateHome = await mkdtemp(path.join(os.tmpdir(), 'am-private-home-'));
      await chmod(privateHome, 0o700);
      const dataDir = path.join(privateHome, 'checkout', '.data');

      const server = await startEmbeddedPostgres({
        dataDir,
        port: await freePort(),
        logger: silentLogger(),
      });
      try {
        const client = new pg.Client({ connectionString: server.connectionString });
        await client.connect();
        const result = await client.query<{ user: string }>('SELECT current_user AS user');
        await client.end();
        assert.equal(result.rows[0]!.user, 'postgres');
        assert.equal(server.owned, true);
      } finally {
        await server.stop();
        // Only this test's cluster: other test files start servers of their own meanwhile.
        const cluster = await relocatedClusterDir(dataDir);
        assert.ok(cluster && existsSync(path.join(cluster, 'PG_VERSION')), 'kept in /var/lib');
        await rm(cluster, { recursive: true, force: true });
        await rm(privateHome, { recursive: true, force: true });
      }
    },
  );

  test(
    'as root, a data dir deleted and made again at the same path starts a fresh cluster',
    { skip: isRoot ? false : 'needs root: only root relocates the cluster' },
    async () => {
      const privateHome = await mkdtemp(path.join(os.tmpdir(), 'am-reclone-'));
      await chmod(privateHome, 0o700);
      const dataDir = path.join(privateHome, 'checkout', '.data');
      const clusters: string[] = [];

      try {
        for (let round = 0; round < 2; round += 1) {
          const server = await startEmbeddedPostgres({
            dataDir,
            port: await freePort(),
            logger: silentLogger(),
          });
          const client = new pg.Client({ connectionString: server.connectionString });
          await client.connect();
          await client.end();
          await server.stop();
          clusters.push((await relocatedClusterDir(dataDir))!);
          await rm(dataDir, { recursive: true, force: true });
        }
        assert.notEqual(clusters[0], clusters[1], 'a fresh cluster for the new data dir');
      } finally {
        for (const cluster of clusters) await rm(cluster, { recursive: true, force: true });
        await rm(privateHome, { recursive: true, force: true });
      }
    },
  );

  test('a Ctrl-C reaches the process, not the server; the last process out stops it', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'am-orphan-'));
    await chmod(dataDir, 0o755);
    const port = await freePort();
    const modulePath = path.resolve(import.meta.dirname, '../../src/store/embedded-postgres.ts');
    const loggerPath = path.resolve(import.meta.dirname, '../../src/logger.ts');
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(modulePath)});
      const { silentLogger } = await import(${JSON.stringify(loggerPath)});
      await startEmbeddedPostgres({ dataDir: process.argv[1], port: Number(process.argv[2]), logger: silentLogger() });
      process.stdout.write('ready\\n');
      setInterval(() => undefined, 1000);`;
    // In a process group of its own, as a terminal runs a command.
    const first = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, dataDir, String(port)],
      { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
    );
    try {
      await once(first.stdout, 'data');
      // What Ctrl-C does: SIGINT to every process of the foreground group. The process has no
      // handler for it and dies, like one killed without its cleanup.
      process.kill(-first.pid!, 'SIGINT');
      await once(first, 'exit');

      const joined = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      assert.equal(joined.owned, false, 'the server outlived the Ctrl-C');

      // Someone else still uses it: leaving does not stop it.
      const user = new pg.Client({ connectionString: joined.connectionString });
      await user.connect();
      await joined.stop();
      assert.ok(await canConnect(joined.connectionString), 'left running for its other user');
      await user.end();

      // The last one out, its starter gone: stops it.
      const last = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      await last.stop();
      assert.equal(await canConnect(last.connectionString), false, 'stopped by the last one out');
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('the starter leaves the server running for a process that joined it', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'am-starter-'));
    await chmod(dataDir, 0o755);
    const port = await freePort();
    const starter = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });
    try {
      assert.equal(starter.owned, true);
      const joined = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      const worker = new pg.Client({ connectionString: joined.connectionString });
      await worker.connect();

      await starter.stop();
      assert.equal((await worker.query('SELECT 1 AS one')).rows[0].one, 1, 'still served');

      await worker.end();
      await joined.stop();
      assert.equal(await canConnect(joined.connectionString), false, 'stopped by the last one');
    } finally {
      await starter.stop({ evenIfInUse: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a second start on the same data dir joins the running server instead of failing', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'am-join-'));
    await chmod(dataDir, 0o755);
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });

    try {
      const second = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      assert.equal(second.owned, false);
      assert.equal(second.connectionString, first.connectionString);
    } finally {
      await first.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
