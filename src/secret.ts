import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a credential so that it cannot leak by accident: JSON, string conversion and
 * `util.inspect` (and so every logger) print `[redacted]`. Only `reveal()` gives the value,
 * and only code that opens a connection calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Removes every occurrence of the given secrets from a message, for errors that come back
 * from drivers and may quote what they were given.
 */
export function scrubSecrets(message: string, secrets: Array<Secret | undefined>): string {
  let scrubbed = message;
  for (const secret of secrets) {
    const value = secret?.reveal();
    if (value && value.length >= 3) scrubbed = scrubbed.split(value).join(REDACTED);
  }
  return scrubbed.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+):[^@\s]+@/gi, `$1:${REDACTED}@`);
}
