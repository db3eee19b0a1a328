import { AppError } from '../errors.ts';
import { resolveReloadWindow, type ReloadWindow } from '../engine/reload-window.ts';
import { eventDataTypes } from '../mirror/tables.ts';

export const reloadDataTypes = [...eventDataTypes, 'dimensions'] as const;
export type ReloadDataType = (typeof reloadDataTypes)[number];

const DEFAULT_DATA_TYPE: ReloadDataType = 'clicks';

export interface ReloadRequest {
  dataType: ReloadDataType;
  /** Null for `dimensions`, which always merge everything. */
  window: ReloadWindow | null;
}

/** The body's JSON schema, for the OpenAPI document; the checks themselves are below. */
export const reloadBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dataType: {
      type: ['string', 'null'],
      enum: [...reloadDataTypes, null],
      default: DEFAULT_DATA_TYPE,
    },
    fromDate: {
      type: 'string',
      description:
        "Inclusive. ISO 8601 date-time (with an offset: that instant; without: UTC) or a date, which starts at the first instant of that day in the affiliate's time zone.",
    },
    toDate: {
      type: 'string',
      description:
        "Inclusive. ISO 8601 date-time (without an offset: UTC) or a date, which covers that whole day in the affiliate's time zone (23 or 25 hours on a DST change).",
    },
    affiliateId: { description: "Ignored: a reload always covers the connector's affiliate." },
  },
} as const;

function readDataType(value: unknown): ReloadDataType {
  if (value === undefined || value === null) return DEFAULT_DATA_TYPE;

  if (typeof value !== 'string' || !(reloadDataTypes as readonly string[]).includes(value)) {
    throw AppError.invalidField(
      'RELOAD_DATA_TYPE_INVALID',
      'dataType',
      `must be one of ${reloadDataTypes.join(', ')}; got ${JSON.stringify(value)}.`,
    );
  }
  return value as ReloadDataType;
}

/**
 * Reads a reload body with checks that name the field and the fix. Done by hand rather than by
 * the JSON schema so that each kind of mistake has its own stable code. Date-only ends are
 * days of `timeZone`, the affiliate's zone.
 */
export function parseReloadRequest(body: unknown, timeZone: string): ReloadRequest {
  const fields = body ?? {};
  if (typeof fields !== 'object' || Array.isArray(fields)) {
    throw AppError.invalidField('VALIDATION_FAILED', 'body', 'must be a JSON object.');
  }

  const record = fields as Record<string, unknown>;
  // A misspelt field must not be ignored: "datatype" would reload clicks, the default.
  const unknown = Object.keys(record).filter(
    (name) => !Object.hasOwn(reloadBodySchema.properties, name),
  );
  if (unknown.length > 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Unknown field ${unknown.join(', ')}; a reload takes ${Object.keys(reloadBodySchema.properties).join(', ')}.`,
      { fields: unknown.map((field) => ({ field, message: 'is not a known field' })) },
    );
  }
  const dataType = readDataType(record.dataType);
  if (dataType === 'dimensions') return { dataType, window: null };

  return { dataType, window: resolveReloadWindow(record.fromDate, record.toDate, timeZone) };
}
