import type pg from 'pg';

/**
 * A connection that dies while checked out (between two queries of a transaction, or while it
 * holds an advisory lock) emits 'error' on its client, where pg's pool does not listen; without
 * a listener that event would end the whole process. The failure still reaches the caller: the
 * next query on the dead client is rejected. Attach to every pool's 'connect' event.
 */
export function keepErrorsOffTheProcess(client: pg.PoolClient): void {
  client.on('error', () => undefined);
}
