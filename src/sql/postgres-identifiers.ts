import { AppError } from '../errors.ts';

/** PostgreSQL keeps only the first 63 bytes of a name (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Quotes one identifier (schema, table, column or index name) for PostgreSQL. Every name this
 * engine puts into SQL goes through here, so a customer's schema name can never change a
 * statement. Longer names are refused rather than silently cut to 63 bytes by the server,
 * which could make two different names point at the same object.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) {
    throw new AppError('VALIDATION_FAILED', `"${name}" is not a valid PostgreSQL name.`);
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new AppError(
      'VALIDATION_FAILED',
      `"${name}" is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit for names.`,
    );
  }

  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."name"`, each part quoted. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}

/** A comma-separated list of quoted names, for column lists. */
export function quoteList(names: string[], prefix = ''): string {
  return names.map((name) => prefix + quoteIdentifier(name)).join(', ');
}
