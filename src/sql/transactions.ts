import type pg from 'pg';

/**
 * Runs `work` in one transaction on a client of its own. On failure the transaction is rolled
 * back and the original error rethrown; a client whose rollback fails too is thrown away
 * rather than handed to the next caller in an unknown state.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();

  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error: unknown) {
    const rolledBack = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    client.release(!rolledBack);
    throw error;
  }
}
