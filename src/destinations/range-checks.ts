/**
 * Checks every destination engine makes the same way: a reload range must be exact instants
 * before anything is deleted, and a chunk commits only when the destination holds exactly as
 * many rows as the source sent.
 */
import { AppError } from '../errors.ts';
import type { TimeRange } from './destination.ts';

/**
 * A UTC instant with an explicit zone. A bare date or a time without a zone would be read in
 * the session's time zone and move the window by hours without anyone noticing.
 */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** Refuses ranges that cannot be read exactly, before anything is deleted. */
export function checkRange(range: TimeRange): void {
  for (const field of ['from', 'toExclusive'] as const) {
    if (!INSTANT.test(range[field])) {
      throw AppError.invalidField(
        'VALIDATION_FAILED',
        `range.${field}`,
        `"${range[field]}" is not an instant like 2017-11-07T00:00:00.000000Z`,
      );
    }
  }

  if (Date.parse(range.from) > Date.parse(range.toExclusive)) {
    throw AppError.invalidField('VALIDATION_FAILED', 'range', 'from is after toExclusive');
  }
}

/**
 * The last check before commit: the destination holds exactly as many rows as the source
 * sent. A mismatch rolls the chunk back and fails the execution; it never ends "succeeded".
 */
export function reconcile(held: number, sent: number, what: string): void {
  if (held === sent) return;
  throw new AppError(
    'RECONCILIATION_FAILED',
    `${what}: the source sent ${sent} rows but the destination holds ${held}; nothing was committed.`,
  );
}
