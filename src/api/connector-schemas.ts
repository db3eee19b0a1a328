import { engines } from '../destinations/destination.ts';
import { AppError } from '../errors.ts';

const INT32_MAX = 2_147_483_647;
/** PostgreSQL text cannot hold NUL; refusing it here keeps it a 400 instead of a 500. */
const NO_NUL = '^[^\\u0000]*$';

/**
 * A host must be reached over the network. The PostgreSQL driver would read a host that
 * starts with "/" as a folder of Unix sockets on the service's own machine, where local
 * servers may trust whoever connects: refused.
 */
export function checkHost(host: string): void {
  if (host.startsWith('/')) {
    throw AppError.invalidField(
      'VALIDATION_FAILED',
      'host',
      'must be a host name or IP address; a socket path (starting with "/") is not allowed.',
    );
  }
}

export const affiliateIdSchema = { type: 'integer', minimum: 1, maximum: INT32_MAX } as const;

/** Fields a client sends to create a connector, replace one, or test one without saving. */
const connectorInputProperties = {
  affiliateId: affiliateIdSchema,
  engine: { type: 'string', enum: [...engines] },
  host: { type: 'string', minLength: 1, maxLength: 255, pattern: NO_NUL },
  port: { type: 'integer', minimum: 1, maximum: 65535 },
  database: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL },
  schema: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z_][A-Za-z0-9_$]*$' },
  username: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL },
  password: { type: 'string', minLength: 1, maxLength: 1024, writeOnly: true },
  useSsl: { type: 'boolean' },
  enabled: { type: 'boolean' },
} as const;

const requiredConnectionFields = [
  'affiliateId',
  'engine',
  'host',
  'port',
  'database',
  'username',
  'useSsl',
];

export const createConnectorBody = {
  type: 'object',
  additionalProperties: false,
  required: [...requiredConnectionFields, 'password'],
  properties: connectorInputProperties,
} as const;

/** A replacement; without `password` the stored one is kept. */
export const replaceConnectorBody = {
  type: 'object',
  additionalProperties: false,
  required: requiredConnectionFields,
  properties: connectorInputProperties,
} as const;

export const testConnectionBody = createConnectorBody;

export interface ConnectorInput {
  affiliateId: number;
  engine: (typeof engines)[number];
  host: string;
  port: number;
  database: string;
  schema?: string;
  username: string;
  password?: string;
  useSsl: boolean;
  enabled?: boolean;
}

export const connectorSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    affiliateId: { type: 'integer' },
    engine: { type: 'string', enum: [...engines] },
    host: { type: 'string' },
    port: { type: 'integer' },
    database: { type: 'string' },
    schema: { type: 'string' },
    username: { type: 'string' },
    useSsl: { type: 'boolean' },
    enabled: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const connectorIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const;

export const listConnectorsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    AffiliateId: { type: 'array', items: affiliateIdSchema },
    Enabled: { type: 'boolean' },
  },
} as const;

export const problemSchema = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;
