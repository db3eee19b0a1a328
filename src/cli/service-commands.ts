import type { Command } from 'commander';

import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startService } from '../service.ts';
import { migrate } from '../store/migrate.ts';
import { parsePort } from './arguments.ts';
import { withStore } from './context.ts';
import { createDemoAffiliateIfEmpty } from './demo-affiliate.ts';

function stopOnSignals(stop: () => Promise<void>) {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal} received, stopping...\n`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function registerServiceCommands(program: Command) {
  program
    .command('serve')
    .description('Runs the HTTP API and a worker in one process.')
    .option('--port <n>', 'port to listen on (default: $PORT or 8080)', parsePort)
    .option('--no-worker', 'run the API only; workers run elsewhere')
    .action(async (options: { port?: number; worker: boolean }) => {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel, format: config.logFormat });
      const service = await startService(config, logger, {
        api: true,
        worker: options.worker,
        port: options.port ?? config.port,
      });
      stopOnSignals(service.stop);
      logger.info({ url: service.url }, 'affiliate-mirror is ready');
      await createDemoAffiliateIfEmpty(service.store.pool, service.url!);
    });

  program
    .command('worker')
    .description('Runs a worker only: takes reload jobs from the shared queue.')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel, format: config.logFormat });
      const service = await startService(config, logger, { api: false, worker: true, port: 0 });
      stopOnSignals(service.stop);
    });

  program
    .command('migrate')
    .description("Brings the platform store's schema up to date, then exits.")
    .action(async () => {
      await withStore(async ({ store, logger }) => {
        const applied = await migrate(store.pool, logger);
        process.stdout.write(`migrations applied: ${applied}\n`);
      });
    });
}
