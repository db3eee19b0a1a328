import { randomUUID } from 'node:crypto';
import { it } from 'node:test';

import { eventTables } from '../../src/mirror/tables.ts';
import { upsertAffiliate } from '../../src/store/affiliates-store.ts';
import { SourceSnapshot } from '../../src/store/source-snapshot.ts';
import { createTestStore } from '../support/databases.ts';
import { destinationTestDatabase } from './postgres-destination-support.ts';

it('scratch', async () => {
  const store = await createTestStore('scratch_store');
  const { admin, open } = await destinationTestDatabase('scratch_dest');
  const v = await admin.query(`SELECT version(), (SELECT count(*) FROM pg_collation WHERE collprovider='i') AS icu, (SELECT collname || ':' || collisdeterministic FROM pg_collation WHERE oid = 100) AS def`);
  console.log(v.rows);
  const pv = eventTables.pageviews;
  const d = open({ schema: 's' });
  await d.ensureTables([pv]);
  await admin.query(`CREATE COLLATION ci (provider=icu, locale='und-u-ks-level2', deterministic=false);
    ALTER TABLE s.pageviews ALTER COLUMN user_agent TYPE text COLLATE ci`);
  console.log(await d.ensureTables([pv]));
  await upsertAffiliate(store.pool, { id: 1, name: 'A', features: [] });
  await store.pool.query(`INSERT INTO pageviews (affiliate_id, id, occurred_at, user_agent) VALUES (1,'p1','2022-03-01T01:00:00Z','Mozilla'),(1,'p2','2022-03-01T01:10:00Z','curl')`);
  const range = { from: '2022-03-01T00:00:00.000000Z', toExclusive: '2022-03-02T00:00:00.000000Z' };
  for (let i = 0; i < 2; i++) {
  const snap = await SourceSnapshot.open(store.pool, pv, 1, range);
  try {
    console.log(await d.syncRange!(pv, 1, range, snap, { executionId: randomUUID(), chunkIndex: 0, workerId: 't' }));
  } catch (e) { console.log('FAILED', (e as Error).message); } finally { await snap.close(); }
  }
});
