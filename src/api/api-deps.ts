import type PgBoss from 'pg-boss';
import type pg from 'pg';

import type { PasswordCipher } from '../crypto/password-cipher.ts';
import type { Logger } from '../logger.ts';

/** What the HTTP routes need from the rest of the service. */
export interface ApiDeps {
  pool: pg.Pool;
  boss: PgBoss;
  cipher: PasswordCipher;
  logger: Logger;
}
