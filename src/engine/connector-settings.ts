import type { PasswordCipher } from '../crypto/password-cipher.ts';
import type { ConnectionSettings } from '../destinations/destination.ts';
import type { ConnectorRecord } from '../store/connectors-store.ts';

/** A stored connector as the settings a destination connects with, password decrypted. */
export function connectionSettings(
  connector: ConnectorRecord,
  cipher: PasswordCipher,
): ConnectionSettings {
  return {
    engine: connector.engine,
    host: connector.host,
    port: connector.port,
    database: connector.database,
    schema: connector.schema,
    username: connector.username,
    password: cipher.decrypt(connector.passwordEncrypted),
    useSsl: connector.useSsl,
  };
}
