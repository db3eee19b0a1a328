import { InvalidArgumentError } from 'commander';

const INT32_MAX = 2_147_483_647;

/** commander argument parsers: each rejects bad input with a sentence naming what is valid. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('must be an integer from 0 to 65535.');
  }
  return port;
}

export function parseAffiliateId(value: string): number {
  const id = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(id) || id < 1 || id > INT32_MAX) {
    throw new InvalidArgumentError(`must be an integer from 1 to ${INT32_MAX}.`);
  }
  return id;
}

/** For `--affiliate 7 --affiliate 9`. */
export function collectAffiliateIds(value: string, previous: number[] = []): number[] {
  return [...previous, parseAffiliateId(value)];
}
