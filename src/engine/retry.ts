import { AppError, asError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export const CHUNK_ATTEMPTS = 6;
const FIRST_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 30_000;

/** Exponential backoff with ±30% jitter, so that workers failing together do not retry together. */
export function retryDelayMs(attempt: number, random = Math.random): number {
  const base = Math.min(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
  return Math.round(base * (0.7 + 0.6 * random()));
}

export function isTransient(error: unknown): boolean {
  return error instanceof AppError && error.retryClass === 'transient';
}

/**
 * Runs `work` until it succeeds, a failure is not transient, or the attempts are used up. Safe
 * only for work that can be repeated: every chunk is, since its destination transaction either
 * commits whole (and is then refused a second time) or not at all.
 */
export async function withRetries<T>(
  what: string,
  logger: Logger,
  work: () => Promise<T>,
  /** Runs before each new attempt; throws to stop retrying (a cancel, a shutdown). */
  beforeRetry: () => Promise<void> = () => Promise.resolve(),
  sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error: unknown) {
      if (!isTransient(error) || attempt >= CHUNK_ATTEMPTS) throw error;

      const delayMs = retryDelayMs(attempt);
      logger.warn(
        { attempt, attempts: CHUNK_ATTEMPTS, delayMs, reason: asError(error).message },
        `${what} failed; retrying (attempt ${attempt + 1} of ${CHUNK_ATTEMPTS})`,
      );
      await sleep(delayMs);
      await beforeRetry();
    }
  }
}
