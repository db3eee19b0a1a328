import { AppError } from '../errors.ts';

/** SQL Server's `sysname` is nvarchar(128): longer names are refused by the server. */
const MAX_IDENTIFIER_CHARS = 128;

/**
 * Quotes one identifier (schema, table, column, index or constraint name) for SQL Server with
 * brackets, doubling any `]` inside it. Every name the SQL Server engine puts into SQL goes
 * through here, so a customer's schema name can never change a statement.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) {
    throw new AppError('VALIDATION_FAILED', `"${name}" is not a valid SQL Server name.`);
  }
  if (name.length > MAX_IDENTIFIER_CHARS) {
    throw new AppError(
      'VALIDATION_FAILED',
      `"${name}" is longer than SQL Server's ${MAX_IDENTIFIER_CHARS}-character limit for names.`,
    );
  }

  return `[${name.replaceAll(']', ']]')}]`;
}

/** `[schema].[name]`, each part quoted. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}

/** A comma-separated list of quoted names, for column lists. */
export function quoteList(names: string[], prefix = ''): string {
  return names.map((name) => prefix + quoteIdentifier(name)).join(', ');
}

/**
 * A Unicode string literal, `N'...'` with quotes doubled. Without the `N` SQL Server reads the
 * literal in the database's code page and turns what it cannot represent into `?`. Used only
 * where a statement cannot take a parameter (inside `EXEC(N'...')`); values go as parameters.
 */
export function unicodeLiteral(value: string): string {
  return `N'${value.replaceAll("'", "''")}'`;
}
