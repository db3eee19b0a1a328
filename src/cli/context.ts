import { loadConfig, type Config } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { openStore, type Store } from '../store/database.ts';

export interface CommandContext {
  config: Config;
  logger: Logger;
  store: Store;
}

/**
 * Runs one CLI command with the store open, and closes it afterwards, also on failure.
 * Logs go to stderr so that a command's stdout carries only its result.
 */
export async function withStore<T>(run: (context: CommandContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: 2 });
  const store = await openStore(config, logger);

  try {
    return await run({ config, logger, store });
  } finally {
    await store.close();
  }
}
