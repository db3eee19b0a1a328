import type pg from 'pg';

import type { Engine } from '../destinations/destination.ts';

/** A connector as stored, password still encrypted. */
export interface ConnectorRecord {
  id: number;
  affiliateId: number;
  engine: Engine;
  host: string;
  port: number;
  database: string;
  schema: string;
  username: string;
  passwordEncrypted: Buffer;
  useSsl: boolean;
  enabled: boolean;
  brokenUntil: Date | null;
  brokenReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ConnectorFields = Omit<
  ConnectorRecord,
  'id' | 'createdAt' | 'updatedAt' | 'brokenUntil' | 'brokenReason'
>;

const CONNECTOR_COLUMNS = `
  id, affiliate_id AS "affiliateId", engine, host, port, database, schema, username,
  password_encrypted AS "passwordEncrypted", use_ssl AS "useSsl", enabled,
  broken_until AS "brokenUntil", broken_reason AS "brokenReason",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

const SELECT_CONNECTOR = `SELECT ${CONNECTOR_COLUMNS} FROM connectors`;

/** The stored columns of a connector, in the order the statements below number them. */
function fieldValues(fields: ConnectorFields) {
  return [
    fields.affiliateId,
    fields.engine,
    fields.host,
    fields.port,
    fields.database,
    fields.schema,
    fields.username,
    fields.passwordEncrypted,
    fields.useSsl,
    fields.enabled,
  ];
}

export async function insertConnector(pool: pg.Pool, fields: ConnectorFields) {
  const result = await pool.query<ConnectorRecord>(
    `INSERT INTO connectors (affiliate_id, engine, host, port, database, schema, username,
                             password_encrypted, use_ssl, enabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${CONNECTOR_COLUMNS}`,
    fieldValues(fields),
  );
  return result.rows[0]!;
}

/** Updates in place, so the connector keeps its id and its executions. */
export async function updateConnector(pool: pg.Pool, id: number, fields: ConnectorFields) {
  await pool.query(
    `UPDATE connectors SET affiliate_id = $1, engine = $2, host = $3, port = $4, database = $5,
            schema = $6, username = $7, password_encrypted = $8, use_ssl = $9, enabled = $10,
            broken_until = NULL, broken_reason = NULL, updated_at = now()
      WHERE id = $11 AND deleted_at IS NULL`,
    [...fieldValues(fields), id],
  );
  return getConnector(pool, id);
}

export async function getConnector(pool: pg.Pool, id: number) {
  const result = await pool.query<ConnectorRecord>(
    `${SELECT_CONNECTOR} WHERE id = $1 AND deleted_at IS NULL`,
    [id],
  );
  return result.rows[0];
}

export async function listConnectors(
  pool: pg.Pool,
  filter: { affiliateIds: number[]; enabled?: boolean },
) {
  const result = await pool.query<ConnectorRecord>(
    `${SELECT_CONNECTOR}
      WHERE deleted_at IS NULL AND affiliate_id = ANY($1::int[])
        AND ($2::boolean IS NULL OR enabled = $2)
      ORDER BY id`,
    [filter.affiliateIds, filter.enabled ?? null],
  );
  return result.rows;
}

/** Soft delete: the connector disappears from the API but its executions stay readable. */
export async function deleteConnector(pool: pg.Pool, id: number): Promise<void> {
  await pool.query(
    'UPDATE connectors SET deleted_at = now(), enabled = false WHERE id = $1 AND deleted_at IS NULL',
    [id],
  );
}

/**
 * Rests a connector whose credentials or host are wrong: live sync skips it until then, and
 * its status says why. Saving the connector again (PUT) clears it.
 */
export async function markConnectorBroken(
  pool: pg.Pool,
  id: number,
  pauseSeconds: number,
  reason: string,
): Promise<void> {
  await pool.query(
    `UPDATE connectors SET broken_until = now() + make_interval(secs => $2), broken_reason = $3
      WHERE id = $1`,
    [id, pauseSeconds, reason],
  );
}

/** Enabled connectors that are not resting, with no reload queued or running. */
export async function connectorsDueForSync(pool: pg.Pool) {
  const result = await pool.query<ConnectorRecord>(
    `${SELECT_CONNECTOR} c
      WHERE deleted_at IS NULL AND enabled
        AND (broken_until IS NULL OR broken_until < now())
        AND NOT EXISTS (SELECT 1 FROM executions e
                         WHERE e.connector_id = c.id AND e.status IN ('queued', 'running'))
      ORDER BY id`,
  );
  return result.rows;
}
