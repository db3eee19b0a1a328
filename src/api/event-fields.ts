import {
  EARLIEST_EVENT_MICROS,
  EVENT_YEARS_TEXT,
  formatMicros,
  LATEST_EVENT_MICROS_EXCLUSIVE,
  parseInstant,
} from '../engine/reload-window.ts';
import { stripNulBytes } from '../importers/batch-writer.ts';

/**
 * Readers for the fields of an ingested event. Each returns the value as its column takes it,
 * or an {@link Invalid} saying what would be valid. They run once per field of up to 10,000
 * items per request, so they are plain checks, without schemas or exceptions.
 */

/** Why a field's value was refused: the sentence completes "<field> ...". */
export class Invalid {
  constructor(readonly message: string) {}
}

/** Counts what an item's readers changed silently, kept only if the item is accepted. */
export interface ReadNotes {
  nulBytesStripped: number;
}

export type FieldReader = (value: unknown, notes: ReadNotes) => unknown;

/** Ids are primary keys: a btree entry must stay far below PostgreSQL's ~2,700-byte limit. */
export const MAX_ID_CHARS = 256;

/** numeric(19, 4): 15 digits before the point, 4 after. */
const AMOUNT_INTEGER_DIGITS = 15;
const AMOUNT_DECIMALS = 4;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** The most significant digits a double carries exactly through its shortest text form. */
const DOUBLE_EXACT_DIGITS = 15;

const CURRENCY = /^[A-Z]{3}$/;

/** A lone UTF-16 surrogate cannot be stored as UTF-8; PostgreSQL would get U+FFFD instead. */
const MALFORMED_UNICODE = 'must be valid Unicode: it holds a lone surrogate (\\uD800-\\uDFFF).';

export function readId(value: unknown): unknown {
  if (typeof value !== 'string' || value.length === 0) {
    return new Invalid('is required: a non-empty string.');
  }
  if (value.length > MAX_ID_CHARS) {
    return new Invalid(`has ${value.length} characters; at most ${MAX_ID_CHARS} are allowed.`);
  }
  if (!value.isWellFormed()) return new Invalid(MALFORMED_UNICODE);
  // Stripping would make "a\0b" and "ab" the same event, so an id with NUL is refused.
  if (value.includes('\0')) return new Invalid('must not contain NUL characters.');
  return value;
}

/** Text PostgreSQL reads as exactly the instant parseInstant read: sent on as it is. */
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/;

/**
 * An ISO 8601 date-time; no offset means UTC. Digits finer than a microsecond, which
 * PostgreSQL cannot store, are cut off rather than rounded, so an event never moves to a
 * later second (or day) than the one it was sent with.
 */
export function readOccurredAt(value: unknown): unknown {
  const expected =
    'an ISO 8601 date-time such as 2025-01-31T18:04:05.123456Z (no offset means UTC)';
  if (value === undefined || value === null || value === '') {
    return new Invalid(`is required: ${expected}.`);
  }
  const parsed = typeof value === 'string' ? parseInstant(value, 'to') : undefined;
  if (!parsed || parsed.dateOnly)
    return new Invalid(`must be ${expected}; got ${shortJson(value)}.`);
  if (parsed.micros < EARLIEST_EVENT_MICROS || parsed.micros >= LATEST_EVENT_MICROS_EXCLUSIVE) {
    // Reload windows cover these years only: an event outside them could never be reloaded.
    return new Invalid(`must lie ${EVENT_YEARS_TEXT}; got ${shortJson(value)}.`);
  }
  return CANONICAL_UTC.test(value as string) ? value : formatMicros(parsed.micros);
}

/** Free text; NUL characters, which PostgreSQL refuses in text, are removed and counted. */
export function readText(value: unknown, notes: ReadNotes): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return new Invalid('must be a string or null.');
  if (!value.isWellFormed()) return new Invalid(MALFORMED_UNICODE);

  const { text, removed } = stripNulBytes(value);
  notes.nulBytesStripped += removed;
  return text;
}

export function readStatusCode(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || (value as number) < 100 || (value as number) > 599) {
    return new Invalid(`must be an integer HTTP status from 100 to 599; got ${shortJson(value)}.`);
  }
  return value;
}

export function readBytes(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && value > Number.MAX_SAFE_INTEGER) {
    // Such a JSON number has already lost digits; quoting what it became would mislead.
    return new Invalid(
      `must be at most ${Number.MAX_SAFE_INTEGER}, the largest exact JSON integer.`,
    );
  }
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    return new Invalid(`must be an integer of 0 or more; got ${shortJson(value)}.`);
  }
  return value;
}

export function readCurrency(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || !CURRENCY.test(value)) {
    return new Invalid(
      `must be 3 upper-case letters (ISO 4217) such as USD; got ${shortJson(value)}.`,
    );
  }
  return value;
}

/**
 * A money amount as exact decimal text for numeric(19, 4); it never passes through a double.
 * A JSON number reaches here as its original text (see events-json.ts); a number that still
 * arrives as a double is taken only when its digits are certain to be the ones sent.
 */
export function readAmount(value: unknown): unknown {
  if (value === null || value === undefined) return null;

  const text = typeof value === 'number' ? exactDoubleText(value) : value;
  const match = typeof text === 'string' ? DECIMAL.exec(text) : null;
  if (!match) {
    return new Invalid(
      `must be a decimal number or decimal string such as 12.5 or "12.3456" (no exponent); ` +
        `got ${shortJson(value)}.`,
    );
  }

  const [, sign = '', integer = '', fraction = ''] = match;
  if (/[1-9]/.test(fraction.slice(AMOUNT_DECIMALS))) {
    return new Invalid(`has more than ${AMOUNT_DECIMALS} decimals: ${text as string}.`);
  }
  const digits = integer.replace(/^0+(?=\d)/, '');
  if (digits.length > AMOUNT_INTEGER_DIGITS) {
    return new Invalid(
      `is too large for numeric(19,4): at most ${AMOUNT_INTEGER_DIGITS} digits before the point.`,
    );
  }
  const kept = fraction.slice(0, AMOUNT_DECIMALS);
  return kept ? `${sign}${digits}.${kept}` : `${sign}${digits}`;
}

function exactDoubleText(value: number): string | undefined {
  const text = String(value);
  const significant = text.replace(/^-?0*\.?0*/, '').replace('.', '');
  if (!Number.isFinite(value) || text.includes('e') || significant.length > DOUBLE_EXACT_DIGITS) {
    return undefined;
  }
  return text;
}

/** A value quoted in a message, cut short so that one huge field cannot bloat a response. */
export function shortJson(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
