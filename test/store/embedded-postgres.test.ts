import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import pg from 'pg';

import { silentLogger } from '../../src/logger.ts';
import { canConnect, startEmbeddedPostgres } from '../../src/store/embedded-postgres.ts';
import { freePort } from '../support/ports.ts';

const isRoot = process.getuid?.() === 0;
const CLUSTERS = '/var/lib/affiliate-mirror/clusters';

describe('embedded PostgreSQL', () => {
  test(
    'as root, starts with its data dir inside a folder only root may enter',
    { skip: isRoot ? false : 'needs root: only root must hand PostgreSQL to another user' },
    async () => {
      const privateHome = await mkdtemp(path.join(os.tmpdir(), 'am-private-home-'));
      await chmod(privateHome, 0o700);
      const dataDir = path.join(privateHome, 'checkout', '.data');
      const clustersBefore: string[] = await readdir('/var/lib/affiliate-mirror/clusters').catch(
        () => [],
      );

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
        const clustersAfter = await readdir('/var/lib/affiliate-mirror/clusters').catch(() => []);
        for (const cluster of clustersAfter.filter((name) => !clustersBefore.includes(name))) {
          await rm(path.join('/var/lib/affiliate-mirror/clusters', cluster), {
            recursive: true,
            force: true,
          });
        }
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
      const clustersBefore: string[] = await readdir(CLUSTERS).catch(() => []);

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
          await rm(dataDir, { recursive: true, force: true });
        }
      } finally {
        const clustersAfter: string[] = await readdir(CLUSTERS).catch(() => []);
        for (const cluster of clustersAfter.filter((name) => !clustersBefore.includes(name))) {
          await rm(path.join(CLUSTERS, cluster), { recursive: true, force: true });
        }
        await rm(privateHome, { recursive: true, force: true });
      }
    },
  );

  test('a server left running by a killed process is taken over by a service, and stopped with it', async () => {
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
    const first = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, dataDir, String(port)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(first.stdout, 'data');
      first.kill('SIGKILL');
      await once(first, 'exit');

      // A one-shot command only joins: a worker that joined the orphan may still use it.
      const oneShot = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      assert.equal(oneShot.owned, false);
      await oneShot.stop();
      assert.ok(await canConnect(oneShot.connectionString), 'a one-shot stop leaves it running');

      const second = await startEmbeddedPostgres({
        dataDir,
        port,
        logger: silentLogger(),
        takeOverOrphan: true,
      });
      assert.equal(second.owned, true);
      const third = await startEmbeddedPostgres({
        dataDir,
        port,
        logger: silentLogger(),
        takeOverOrphan: true,
      });
      assert.equal(third.owned, false, 'the new owner lives: a later process joins');
      assert.ok(await canConnect(second.connectionString), 'the orphan serves the new owner');
      await second.stop();

      assert.equal(await canConnect(second.connectionString), false, 'stopped with its owner');
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL');
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
