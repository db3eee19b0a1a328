import { createHash } from 'node:crypto';

const HASH_HEX_CHARS = 12;

/**
 * The id of the row a file line becomes: `<prefix>-<line number>-<12 hex of SHA-256(line)>`.
 *
 * Files like ours have no id column, and identical lines are distinct events (two clicks in the
 * same second from the same device), so the content alone cannot be the id. The line number
 * tells identical lines apart; the hash keeps a different file imported into the same affiliate
 * from overwriting this one's rows line by line. Importing the same file again yields the same
 * ids, so a repeat import changes nothing.
 *
 * Known limit: the id is stable for an unchanged file only. A line inserted near the top of a
 * file shifts every later line number, so importing the edited file adds its rows again beside
 * the old ones. Fixing that needs an event id in the input itself.
 */
export function stableRowId(prefix: string, lineNumber: number, line: string): string {
  const hash = createHash('sha256').update(line).digest('hex').slice(0, HASH_HEX_CHARS);
  return `${prefix}-${lineNumber}-${hash}`;
}
