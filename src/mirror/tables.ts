/**
 * The mirror's table layout: one description per table, read by the platform store's source
 * queries and by every destination engine's DDL. The platform store's own tables have the same
 * names and columns (see the first migration), so a mirror row is the source row, column by
 * column. Changing a column here changes what customers query: add, never rename or drop.
 */

/** Engine-independent column types; each destination maps them to its own. */
export type ColumnType = 'text' | 'integer' | 'bigint' | 'timestamptz' | 'money' | 'boolean';

export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export type EventDataType = 'clicks' | 'conversions' | 'pageviews';

export interface MirrorTable {
  name: string;
  kind: 'event' | 'dimension';
  /** All columns in load order; `affiliate_id` and `id` come first and form the key. */
  columns: Column[];
}

const key: Column[] = [
  { name: 'affiliate_id', type: 'integer', nullable: false },
  { name: 'id', type: 'text', nullable: false },
];

const occurredAt: Column = { name: 'occurred_at', type: 'timestamptz', nullable: false };

/**
 * The platform-store change that last wrote the row. The continuous mirror never replaces a
 * mirror row with one of a lower `change_seq`, so an older version cannot overwrite a newer one.
 */
const changeSeq: Column = { name: 'change_seq', type: 'bigint', nullable: false };

function optional(name: string, type: ColumnType = 'text'): Column {
  return { name, type, nullable: true };
}

export const eventTables: Record<EventDataType, MirrorTable> = {
  clicks: {
    name: 'clicks',
    kind: 'event',
    columns: [
      ...key,
      occurredAt,
      optional('brand_id'),
      optional('program_id'),
      optional('traffic_source_id'),
      optional('link_id'),
      optional('ip'),
      optional('device'),
      optional('os'),
      optional('user_agent'),
      optional('referrer'),
      changeSeq,
    ],
  },
  conversions: {
    name: 'conversions',
    kind: 'event',
    columns: [
      ...key,
      occurredAt,
      optional('click_id'),
      optional('brand_id'),
      optional('program_id'),
      optional('traffic_source_id'),
      optional('status'),
      optional('amount', 'money'),
      optional('currency'),
      changeSeq,
    ],
  },
  pageviews: {
    name: 'pageviews',
    kind: 'event',
    columns: [
      ...key,
      occurredAt,
      optional('ip'),
      optional('method'),
      optional('path'),
      optional('status_code', 'integer'),
      optional('bytes', 'bigint'),
      optional('referrer'),
      optional('user_agent'),
      changeSeq,
    ],
  },
};

export const dimensionTables: MirrorTable[] = [
  { name: 'brands', kind: 'dimension', columns: [...key, optional('name'), changeSeq] },
  {
    name: 'programs',
    kind: 'dimension',
    columns: [...key, optional('name'), optional('brand_id'), changeSeq],
  },
  {
    name: 'accounts',
    kind: 'dimension',
    columns: [...key, optional('name'), optional('email'), changeSeq],
  },
  { name: 'traffic_sources', kind: 'dimension', columns: [...key, optional('name'), changeSeq] },
  {
    name: 'links',
    kind: 'dimension',
    columns: [
      ...key,
      optional('url'),
      optional('program_id'),
      optional('traffic_source_id'),
      changeSeq,
    ],
  },
];

export const allTables: MirrorTable[] = [...Object.values(eventTables), ...dimensionTables];

export const eventDataTypes = Object.keys(eventTables) as EventDataType[];

export function columnNames(table: MirrorTable): string[] {
  return table.columns.map((column) => column.name);
}
