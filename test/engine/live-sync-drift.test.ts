import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { eventTables, type MirrorTable } from '../../src/mirror/tables.ts';
import { createTestDatabase } from '../support/databases.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestService } from '../support/service.ts';

/**
 * The continuous mirror after a customer changed its tables: what it repairs comes back whole
 * (every row with every value), what it cannot repair shows in the connector's status naming
 * the table and column, nothing is written to that table meanwhile, and the mirror recovers by
 * itself once the customer puts the table right.
 */

const MIRROR_BOUND_MS = 30_000;
const AFFILIATE = 7;

const api = await startTestService('live_sync_drift', { liveSync: true });
const destination = await createTestDatabase('live_sync_drift_dest');
const admin = await api.tenant(AFFILIATE);
const connectorId = await api.connector(admin, destination.url);
const customer = destination.pool;

async function send(events: unknown[]) {
  const response = await api.request('POST', `/v1/affiliates/${AFFILIATE}/events`, {
    token: admin,
    body: { events },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.rejected.length, 0, JSON.stringify(response.body.rejected));
}

const sourceOf = (table: MirrorTable) =>
  fingerprint(api.store.url, table, { affiliateId: AFFILIATE });
const mirrorOf = (table: MirrorTable) =>
  fingerprint(destination.url, table, { affiliateId: AFFILIATE, schema: 'public' });

/** Waits until the mirror of `table` equals the source, every column of every row. */
async function mirrored(table: MirrorTable) {
  const deadline = Date.now() + MIRROR_BOUND_MS;
  while (Date.now() < deadline) {
    const [source, mirror] = await Promise.all([
      sourceOf(table),
      mirrorOf(table).catch(() => undefined),
    ]);
    if (mirror && mirror.checksum === source.checksum) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual(await mirrorOf(table), await sourceOf(table), `${table.name} not mirrored`);
}

interface TableStatus {
  table: string;
  lastError: { code: string; message: string } | null;
}

async function tableStatus(table: string): Promise<TableStatus> {
  const response = await api.request('GET', `/v1/affiliates/connectors/${connectorId}/status`, {
    token: admin,
  });
  assert.equal(response.status, 200);
  return response.body.tables.find((entry: TableStatus) => entry.table === table);
}

/** Waits until the status of `table` satisfies `check`; returns that status. */
async function statusUntil(table: string, check: (status: TableStatus) => boolean) {
  const deadline = Date.now() + MIRROR_BOUND_MS;
  let status = await tableStatus(table);
  while (!check(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    status = await tableStatus(table);
  }
  assert.ok(check(status), JSON.stringify(status));
  return status;
}

const drifted = (status: TableStatus) => status.lastError?.code === 'SCHEMA_DRIFT';

const click = (id: string, extra: Record<string, unknown> = {}) => ({
  type: 'click',
  id,
  occurredAt: '2026-12-01T10:00:00.123456Z',
  brandId: 'b1',
  userAgent: `agent of ${id}`,
  ...extra,
});

/** Whole amounts, so that a customer's round trip through integer keeps them as they were. */
const conversion = (id: string) => ({
  type: 'conversion',
  id,
  occurredAt: '2026-12-01T10:05:00.000001Z',
  status: 'approved',
  amount: '12.0000',
  currency: 'EUR',
});

async function idsIn(table: string): Promise<string[]> {
  const result = await customer.query<{ id: string }>(`SELECT id FROM public.${table} ORDER BY id`);
  return result.rows.map((row) => row.id);
}

describe('continuous mirror after a customer changed the mirror tables', () => {
  test('the mirror is complete to begin with', async () => {
    await send([click('c1'), click('c2'), conversion('v1'), conversion('v2')]);
    await mirrored(eventTables.clicks);
    await mirrored(eventTables.conversions);
  });

  test('a dropped table is recreated and backfilled to equal the source', async () => {
    await customer.query('DROP TABLE public.clicks');
    await send([click('c3')]);

    await mirrored(eventTables.clicks);
    assert.deepEqual(await idsIn('clicks'), ['c1', 'c2', 'c3']);
  });

  test('a dropped column is added back and every row gets its value again', async () => {
    await customer.query('ALTER TABLE public.clicks DROP COLUMN user_agent');

    await mirrored(eventTables.clicks);
    const partial = await customer.query(
      'SELECT id FROM public.clicks WHERE user_agent IS NULL OR change_seq = 0',
    );
    assert.deepEqual(partial.rows, []);
  });

  test('a dropped primary key is restored', async () => {
    await customer.query('ALTER TABLE public.clicks DROP CONSTRAINT clicks_pkey');
    await send([click('c1', { os: 'updated' })]);

    await mirrored(eventTables.clicks);
    const key = await customer.query(
      `SELECT 1 FROM pg_constraint WHERE conrelid = 'public.clicks'::regclass AND contype = 'p'`,
    );
    assert.equal(key.rowCount, 1);
  });

  for (const [column, alteration, restore] of [
    ['amount', 'TYPE integer', 'TYPE numeric(19,4)'],
    ['occurred_at', 'TYPE timestamp', 'TYPE timestamptz'],
  ] as const) {
    test(`conversions.${column} changed (${alteration}): SCHEMA_DRIFT in the status, nothing written, recovery after the change back`, async () => {
      await customer.query(`ALTER TABLE public.conversions ALTER COLUMN ${column} ${alteration}`);
      await send([conversion(`v-${column}`), click(`c-${column}`)]);

      const status = await statusUntil('conversions', drifted);
      assert.match(status.lastError!.message, new RegExp(`public\\.conversions\\.${column} is `));
      assert.match(status.lastError!.message, /change it back with ALTER TABLE/i);
      await mirrored(eventTables.clicks);
      assert.ok(!(await idsIn('conversions')).includes(`v-${column}`));
      assert.equal((await tableStatus('clicks')).lastError, null);

      await customer.query(`ALTER TABLE public.conversions ALTER COLUMN ${column} ${restore}`);
      await mirrored(eventTables.conversions);
      await statusUntil('conversions', (after) => after.lastError === null);
    });
  }

  test('a NOT NULL column of its own without a default is SCHEMA_DRIFT; with a default it is fine', async () => {
    await customer.query(`ALTER TABLE public.clicks ADD COLUMN reviewed boolean;
      UPDATE public.clicks SET reviewed = false;
      ALTER TABLE public.clicks ALTER COLUMN reviewed SET NOT NULL`);
    await send([click('c-reviewed')]);

    const status = await statusUntil('clicks', drifted);
    assert.match(status.lastError!.message, /public\.clicks\.reviewed is not a mirror column/);
    assert.ok(!(await idsIn('clicks')).includes('c-reviewed'));

    await customer.query('ALTER TABLE public.clicks ALTER COLUMN reviewed SET DEFAULT false');
    await mirrored(eventTables.clicks);
    const kept = await customer.query(
      'SELECT count(*)::int AS n FROM public.clicks WHERE reviewed',
    );
    assert.deepEqual(kept.rows, [{ n: 0 }]);
  });

  test('a dropped _mirror_cursors is recreated and the mirror stays exact', async () => {
    await customer.query('DROP TABLE public._mirror_cursors');
    await send([click('c-after-cursors'), conversion('v-after-cursors')]);

    await mirrored(eventTables.clicks);
    await mirrored(eventTables.conversions);
    await mirrored(eventTables.pageviews);
    const cursors = await customer.query(
      `SELECT table_name FROM public._mirror_cursors WHERE table_name = 'clicks'`,
    );
    assert.equal(cursors.rowCount, 1);
  });
});
