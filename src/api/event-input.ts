import { AppError, type FieldProblem } from '../errors.ts';
import type { EventDataType } from '../mirror/tables.ts';
import {
  Invalid,
  readAmount,
  readBytes,
  readCurrency,
  readId,
  readOccurredAt,
  readStatusCode,
  readText,
  type FieldReader,
  type ReadNotes,
} from './event-fields.ts';

/**
 * The body of `POST /v1/affiliates/{affiliateId}/events`, checked by hand item by item: a bad
 * item is reported with its index and the others are kept. Each accepted item becomes a row of
 * its table, values in the order of {@link EventShape.columns}.
 */

export const MAX_EVENTS_PER_REQUEST = 10_000;

export const eventTypes = ['click', 'conversion', 'pageview'] as const;
export type EventType = (typeof eventTypes)[number];

/** Per type: its optional fields as [JSON name, column, reader]. */
const optionalFields: Record<EventType, Array<[string, string, FieldReader]>> = {
  click: [
    ['brandId', 'brand_id', readText],
    ['programId', 'program_id', readText],
    ['trafficSourceId', 'traffic_source_id', readText],
    ['linkId', 'link_id', readText],
    ['ip', 'ip', readText],
    ['device', 'device', readText],
    ['os', 'os', readText],
    ['userAgent', 'user_agent', readText],
    ['referrer', 'referrer', readText],
  ],
  conversion: [
    ['clickId', 'click_id', readText],
    ['brandId', 'brand_id', readText],
    ['programId', 'program_id', readText],
    ['trafficSourceId', 'traffic_source_id', readText],
    ['status', 'status', readText],
    ['amount', 'amount', readAmount],
    ['currency', 'currency', readCurrency],
  ],
  pageview: [
    ['ip', 'ip', readText],
    ['method', 'method', readText],
    ['path', 'path', readText],
    ['statusCode', 'status_code', readStatusCode],
    ['bytes', 'bytes', readBytes],
    ['referrer', 'referrer', readText],
    ['userAgent', 'user_agent', readText],
  ],
};

/** How one event type is stored. */
export interface EventShape {
  table: EventDataType;
  /** `id` and `occurred_at` first, then the optional fields' columns. */
  columns: string[];
  fields: Map<string, { position: number; read: FieldReader }>;
  /** Said of a field the type does not have, naming those it has. */
  unknownFieldMessage: string;
}

const tables: Record<EventType, EventDataType> = {
  click: 'clicks',
  conversion: 'conversions',
  pageview: 'pageviews',
};

function shapeOf(type: EventType): EventShape {
  const fields = optionalFields[type];
  const known = ['type', 'id', 'occurredAt', ...fields.map(([name]) => name)];
  return {
    table: tables[type],
    columns: ['id', 'occurred_at', ...fields.map(([, column]) => column)],
    fields: new Map(fields.map(([name, , read], index) => [name, { position: index + 2, read }])),
    unknownFieldMessage: `is not a field of ${type} events (${known.join(', ')}).`,
  };
}

export const eventShapes: Record<EventType, EventShape> = {
  click: shapeOf('click'),
  conversion: shapeOf('conversion'),
  pageview: shapeOf('pageview'),
};

/** A field at fault in item `index` of the request, which was not stored. */
export interface RejectedEvent extends FieldProblem {
  index: number;
}

export interface EventBatch {
  /** Accepted rows per type, by id: an id repeated in one request keeps its last item. */
  rows: Record<EventType, Map<string, unknown[]>>;
  accepted: number;
  rejected: RejectedEvent[];
  nulBytesStripped: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `events` array, or a 400 naming the field when the body is not shaped right. */
function readItems(body: unknown): unknown[] {
  if (!isObject(body)) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'body',
      'must be an object {"events": [...]}.',
    );
  }
  const unknown = Object.keys(body).find((key) => key !== 'events');
  if (unknown !== undefined) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      unknown,
      'is not a known field; send only "events".',
    );
  }

  const { events } = body;
  const limits = `1 to ${MAX_EVENTS_PER_REQUEST} events`;
  if (!Array.isArray(events)) {
    const got = events === undefined ? 'it is missing' : `got ${typeof events}`;
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'events',
      `must be an array of ${limits}; ${got}.`,
    );
  }
  if (events.length === 0 || events.length > MAX_EVENTS_PER_REQUEST) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'events',
      `must hold ${limits}; got ${events.length}. Split larger batches into several requests.`,
    );
  }
  return events;
}

const TYPE_MESSAGE = `must be one of ${eventTypes.map((type) => `"${type}"`).join(', ')}.`;

function readType(value: unknown): EventType | Invalid {
  if ((eventTypes as readonly unknown[]).includes(value)) return value as EventType;
  return new Invalid(TYPE_MESSAGE);
}

/** Puts a read value into its column, or notes why it was refused. */
function keep(row: unknown[], problems: FieldProblem[], field: string, at: number, value: unknown) {
  if (value instanceof Invalid) problems.push({ field, message: value.message });
  else row[at] = value;
}

/** The item's row; `problems` receives what keeps it out. */
function readItem(
  item: Record<string, unknown>,
  shape: EventShape,
  notes: ReadNotes,
  problems: FieldProblem[],
): unknown[] {
  const row: unknown[] = new Array<unknown>(shape.columns.length).fill(null);
  keep(row, problems, 'id', 0, readId(item.id));
  keep(row, problems, 'occurredAt', 1, readOccurredAt(item.occurredAt));

  for (const name of Object.keys(item)) {
    if (name === 'type' || name === 'id' || name === 'occurredAt') continue;

    const field = shape.fields.get(name);
    if (field) keep(row, problems, name, field.position, field.read(item[name], notes));
    else problems.push({ field: name, message: shape.unknownFieldMessage });
  }
  return row;
}

/** Adds item `index` to the batch's rows, or its problems to `rejected`. */
function addItem(batch: EventBatch, item: unknown, index: number): void {
  if (!isObject(item)) {
    batch.rejected.push({ index, field: 'event', message: 'must be an event object.' });
    return;
  }
  const type = readType(item.type);
  if (type instanceof Invalid) {
    batch.rejected.push({ index, field: 'type', message: type.message });
    return;
  }

  const notes: ReadNotes = { nulBytesStripped: 0 };
  const problems: FieldProblem[] = [];
  const row = readItem(item, eventShapes[type], notes, problems);
  if (problems.length > 0) {
    for (const problem of problems) batch.rejected.push({ index, ...problem });
    return;
  }
  batch.rows[type].set(row[0] as string, row);
  batch.accepted += 1;
  batch.nulBytesStripped += notes.nulBytesStripped;
}

/**
 * Checks every item of a request body. Throws a 400 only when the body itself is wrong; a bad
 * item is listed in `rejected` (one entry per field at fault) and the others are kept.
 */
export function parseEventBatch(body: unknown): EventBatch {
  const items = readItems(body);
  const batch: EventBatch = {
    rows: { click: new Map(), conversion: new Map(), pageview: new Map() },
    accepted: 0,
    rejected: [],
    nulBytesStripped: 0,
  };

  for (let index = 0; index < items.length; index += 1) addItem(batch, items[index], index);
  return batch;
}
