import { MAX_ID_CHARS } from './event-fields.ts';
import { eventTypes, MAX_EVENTS_PER_REQUEST } from './event-input.ts';

/**
 * OpenAPI descriptions of the events routes. The POST body schema documents the request only:
 * the route checks it by hand (event-input.ts), so that one bad item does not refuse the rest.
 */

const text = { type: ['string', 'null'] } as const;

const common = {
  id: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_ID_CHARS,
    description: 'Your id of the event; with the type it identifies the event for upserts.',
  },
  occurredAt: {
    type: 'string',
    format: 'date-time',
    description: 'ISO 8601, microseconds kept (finer digits cut off); no offset means UTC.',
  },
};

function eventSchema(type: string, fields: Record<string, unknown>) {
  return {
    type: 'object',
    required: ['type', 'id', 'occurredAt'],
    additionalProperties: false,
    properties: { type: { type: 'string', const: type }, ...common, ...fields },
  };
}

const clickSchema = eventSchema('click', {
  brandId: text,
  programId: text,
  trafficSourceId: text,
  linkId: text,
  ip: text,
  device: text,
  os: text,
  userAgent: text,
  referrer: text,
});

const conversionSchema = eventSchema('conversion', {
  clickId: text,
  brandId: text,
  programId: text,
  trafficSourceId: text,
  status: text,
  amount: {
    type: ['number', 'string', 'null'],
    description:
      'Stored exactly as numeric(19,4): at most 15 digits before the point and 4 after. ' +
      'JSON numbers are read from their text, never through a double.',
    examples: ['12345678901234.5678', 19.99],
  },
  currency: { type: ['string', 'null'], pattern: '^[A-Z]{3}$' },
});

const pageviewSchema = eventSchema('pageview', {
  ip: text,
  method: text,
  path: text,
  statusCode: { type: ['integer', 'null'], minimum: 100, maximum: 599 },
  bytes: { type: ['integer', 'null'], minimum: 0 },
  referrer: text,
  userAgent: text,
});

export const eventsBodySchema = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    events: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EVENTS_PER_REQUEST,
      items: { oneOf: [clickSchema, conversionSchema, pageviewSchema] },
    },
  },
} as const;

export const eventsAcceptedSchema = {
  type: 'object',
  properties: {
    accepted: { type: 'integer', description: 'Valid items; an id sent twice counts twice.' },
    changed: { type: 'integer', description: 'Events inserted, or updated because they differ.' },
    nulBytesStripped: {
      type: 'integer',
      description:
        'NUL characters removed from text fields of accepted items (PostgreSQL cannot store ' +
        'them). An id containing NUL is rejected instead.',
    },
    rejected: {
      type: 'array',
      description: 'One entry per field at fault; the item at `index` was not stored.',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          field: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

const INT32_MAX = 2_147_483_647;

export const affiliateIdParam = { type: 'integer', minimum: 1, maximum: INT32_MAX } as const;

export const eventKeyParams = {
  type: 'object',
  required: ['affiliateId', 'type', 'id'],
  properties: {
    affiliateId: affiliateIdParam,
    type: { type: 'string', enum: [...eventTypes] },
    id: { type: 'string', minLength: 1, maxLength: MAX_ID_CHARS },
  },
} as const;
