import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { Secret } from '../secret.ts';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of every ciphertext, so the format can change without guessing. */
const FORMAT_VERSION = 1;
const KEY_FILE_NAME = 'secret.key';

/**
 * Encrypts connector passwords at rest with AES-256-GCM. Layout of a ciphertext:
 * version (1 byte) | nonce (12) | auth tag (16) | encrypted UTF-8 password.
 */
export class PasswordCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`the key must be ${KEY_BYTES} bytes`);
    this.#key = key;
  }

  encrypt(password: Secret): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    const body = Buffer.concat([cipher.update(password.reveal(), 'utf8'), cipher.final()]);

    return Buffer.concat([Buffer.from([FORMAT_VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  decrypt(ciphertext: Buffer): Secret {
    try {
      if (ciphertext[0] !== FORMAT_VERSION) throw new Error('unknown ciphertext version');
      const nonce = ciphertext.subarray(1, 1 + NONCE_BYTES);
      const tag = ciphertext.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES);
      const body = ciphertext.subarray(1 + NONCE_BYTES + TAG_BYTES);

      const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce);
      decipher.setAuthTag(tag);
      return new Secret(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8'));
    } catch (error: unknown) {
      throw new AppError(
        'SECRET_KEY_MISMATCH',
        'A stored connector password cannot be decrypted: AFFILIATE_MIRROR_SECRET_KEY is not the key it was saved with.',
        { cause: error },
      );
    }
  }
}

function parseKey(raw: string): Buffer {
  const trimmed = raw.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new AppError(
      'CONFIG_INVALID',
      `AFFILIATE_MIRROR_SECRET_KEY must be ${KEY_BYTES} bytes, as 64 hex digits or base64 (try: openssl rand -base64 32).`,
    );
  }
  return key;
}

/**
 * The key comes from AFFILIATE_MIRROR_SECRET_KEY. Without it, a key is kept in the data dir
 * (created on first use), which only works while every process of the service shares that dir.
 */
export async function loadPasswordCipher(config: Config, logger: Logger): Promise<PasswordCipher> {
  if (config.secretKey) return new PasswordCipher(parseKey(config.secretKey));

  const keyFile = path.join(config.dataDir, KEY_FILE_NAME);
  if (!existsSync(keyFile)) {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(keyFile, randomBytes(KEY_BYTES).toString('base64') + '\n', {
      mode: 0o600,
      flag: 'wx',
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  logger.warn(
    { keyFile },
    'AFFILIATE_MIRROR_SECRET_KEY is not set: connector passwords are encrypted with a key kept in the data dir; every process of the service must share that dir',
  );
  return new PasswordCipher(parseKey(await readFile(keyFile, 'utf8')));
}
