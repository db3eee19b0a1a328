import type pg from 'pg';

import { CONNECTOR_FEATURE } from '../api/auth.ts';
import { countAffiliates, upsertAffiliate } from '../store/affiliates-store.ts';
import { createToken } from '../store/tokens-store.ts';

const DEMO_AFFILIATE_ID = 7;

/**
 * On the first start with an empty store, creates a demo affiliate with the connector feature
 * and prints an AccountAdmin token (shown this once) with a first request to try.
 */
export async function createDemoAffiliateIfEmpty(pool: pg.Pool, url: string) {
  if ((await countAffiliates(pool)) > 0) return;

  await upsertAffiliate(pool, {
    id: DEMO_AFFILIATE_ID,
    name: 'Demo affiliate',
    features: [CONNECTOR_FEATURE],
  });
  const token = await createToken(pool, 'AccountAdmin', [DEMO_AFFILIATE_ID]);

  process.stdout.write(
    [
      '',
      `Created demo affiliate ${DEMO_AFFILIATE_ID} with the ${CONNECTOR_FEATURE} feature.`,
      'Its AccountAdmin token (shown only now, keep it):',
      '',
      `  ${token}`,
      '',
      'Try:',
      `  curl -H 'Authorization: ApiKey ${token}' ${url}/v1/affiliates/connectors`,
      `  open ${url}/openapi.json for the whole API`,
      '',
    ].join('\n') + '\n',
  );
}
