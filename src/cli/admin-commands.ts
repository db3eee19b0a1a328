import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

import { normaliseTimeZone } from '../engine/time-zone.ts';
import {
  getAffiliate,
  setAffiliateTimeZone,
  upsertAffiliate,
  type Affiliate,
} from '../store/affiliates-store.ts';
import { createToken, policies, type Policy } from '../store/tokens-store.ts';
import { CONNECTOR_FEATURE } from '../api/auth.ts';
import { collectAffiliateIds, parseAffiliateId } from './arguments.ts';
import { withStore } from './context.ts';

/** Features the service knows; a typo would otherwise switch the real one off silently. */
const knownFeatures = [CONNECTOR_FEATURE];

function collectFeature(value: string, previous: string[]): string[] {
  if (!knownFeatures.includes(value)) {
    throw new InvalidArgumentError(`must be one of ${knownFeatures.join(', ')}.`);
  }
  return [...previous, value];
}

function parseTimeZone(value: string): string {
  const zone = normaliseTimeZone(value);
  if (zone === undefined) {
    throw new InvalidArgumentError(
      'must be an IANA time zone name such as Europe/Paris, America/New_York or UTC.',
    );
  }
  return zone;
}

function printAffiliate(affiliate: Affiliate) {
  const features = affiliate.features.join(', ') || '(none)';
  process.stdout.write(
    `affiliate ${affiliate.id} "${affiliate.name}" features: ${features} time zone: ${affiliate.timeZone}\n`,
  );
}

function parsePolicy(value: string): Policy {
  if (!(policies as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${policies.join(', ')}.`);
  }
  return value as Policy;
}

export function registerAdminCommands(program: Command) {
  const affiliates = program.command('affiliates').description('Manages affiliates (tenants).');
  affiliates
    .command('create')
    .description('Creates an affiliate, or updates its name and features (and zone, if given).')
    .requiredOption('--id <n>', 'affiliate id (int32)', parseAffiliateId)
    .requiredOption('--name <text>', 'display name')
    .option(
      '--feature <name>',
      `a feature to enable (${knownFeatures.join(', ')}); repeat for several`,
      collectFeature,
      [],
    )
    .option(
      '--time-zone <name>',
      'IANA zone whose days date-only reload dates mean (default UTC; an existing affiliate keeps its own)',
      parseTimeZone,
    )
    .action(async (options: { id: number; name: string; feature: string[]; timeZone?: string }) => {
      await withStore(async ({ store }) => {
        const affiliate = await upsertAffiliate(store.pool, {
          id: options.id,
          name: options.name,
          features: [...new Set(options.feature)],
          timeZone: options.timeZone,
        });
        printAffiliate(affiliate);
      });
    });

  affiliates
    .command('update')
    .description("Changes an affiliate's time zone; reloads already queued keep their window.")
    .requiredOption('--id <n>', 'affiliate id (int32)', parseAffiliateId)
    .requiredOption('--time-zone <name>', 'IANA time zone name, e.g. Europe/Paris', parseTimeZone)
    .action(async (options: { id: number; timeZone: string }) => {
      await withStore(async ({ store }) => {
        printAffiliate(await setAffiliateTimeZone(store.pool, options.id, options.timeZone));
      });
    });

  const tokens = program.command('tokens').description('Manages API tokens.');
  tokens
    .command('create')
    .description('Creates an API token and prints it as the last line (it is shown only once).')
    .requiredOption(
      '--affiliate <n>',
      'affiliate the token may act for; repeat for several',
      collectAffiliateIds,
    )
    .requiredOption('--policy <name>', `one of ${policies.join(', ')}`, parsePolicy)
    .action(async (options: { affiliate: number[]; policy: Policy }) => {
      await withStore(async ({ store }) => {
        for (const id of options.affiliate) await getAffiliate(store.pool, id);
        const token = await createToken(store.pool, options.policy, options.affiliate);
        process.stdout.write(
          `${options.policy} token for affiliate ${options.affiliate.join(', ')} (shown only once):\n${token}\n`,
        );
      });
    });
}
