import swagger from '@fastify/swagger';
import { Ajv, type AnySchema } from 'ajv';
import formats from 'ajv-formats';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaCompiler,
} from 'fastify';

import { AppError, errorCatalogue } from '../errors.ts';
import { registerAffiliateRoutes } from './affiliates-routes.ts';
import type { ApiDeps } from './api-deps.ts';
import { registerConnectionTestRoutes } from './connection-test-routes.ts';
import { registerConnectorStatusRoute } from './connector-status-route.ts';
import { registerConnectorRoutes } from './connectors-routes.ts';
import { registerEventRoutes } from './events-routes.ts';
import { registerExecutionEventsRoute } from './execution-events-route.ts';
import { registerExecutionRoutes } from './executions-routes.ts';
import { authenticate } from './auth.ts';
import { handleError } from './problem.ts';
import { registerReloadRoutes } from './reload-routes.ts';

const BODY_LIMIT_BYTES = 1_048_576;

/**
 * The longest path segment the router takes, in UTF-16 code units after percent-decoding. An
 * event id may be 256 of them; the margin leaves every id within its limit to the route, whose
 * schema then refuses what is too long with a clear 400.
 */
const MAX_PATH_SEGMENT_CHARS = 256 * 12;

/**
 * Compiles route schemas. A JSON body must carry the types its schema names: "55432" is not a
 * port, 0 is not a boolean, true is not an affiliate id. Path, query string and headers are
 * text by nature, so there a value is read as its schema's type ("7" is the integer 7).
 * Otherwise the options are Fastify's own, less the removal of unknown fields (they are
 * refused instead) and with every problem reported at once.
 */
function schemaValidators(): FastifySchemaCompiler<AnySchema> {
  // ajv-formats is CommonJS: its plugin is the module's `default` export.
  const addFormats = formats.default;
  const options = { useDefaults: true, removeAdditional: false, allErrors: true } as const;
  const forBodies = addFormats(new Ajv({ ...options, coerceTypes: false }));
  const forText = addFormats(new Ajv({ ...options, coerceTypes: 'array' }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? forBodies : forText).compile(schema);
}

/**
 * Errors the router raises before any route or hook runs (a path that is not valid
 * percent-encoding, a segment over the limit) become problem+json like every other error.
 */
function routerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const appError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError(
          'URL_SEGMENT_TOO_LONG',
          `A segment of the URL path is longer than ${MAX_PATH_SEGMENT_CHARS} characters.`,
        )
      : new AppError('URL_MALFORMED', errorCatalogue.URL_MALFORMED.title);
  // The reply is sent here; it is thenable, which is not a promise to wait for.
  void handleError(appError, request, reply);
}

/**
 * `content-type: application/json` with no body (a DELETE from many HTTP clients) reads as no
 * body instead of failing as malformed JSON.
 */
function acceptEmptyJsonBodies(app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    void parseJson(request, text, done);
  });
}

function registerHealthRoute(app: FastifyInstance, deps: ApiDeps) {
  app.get('/health', { schema: { hide: true } }, async () => {
    await deps.pool.query('SELECT 1');
    return { status: 'ok' };
  });
}

async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'affiliate-mirror',
        version: '0.1.0',
        description: "Mirrors affiliates' tracking data into databases they own.",
      },
      components: {
        securitySchemes: {
          ApiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'The value is "ApiKey <token>".',
          },
        },
      },
    },
    transformObject: (document) =>
      'openapiObject' in document
        ? declareProblemResponses(document.openapiObject)
        : document.swaggerObject,
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}

type OpenApiDocument = { paths?: Record<string, Record<string, { responses?: Responses }>> };
type Responses = Record<string, { content?: Record<string, unknown> }>;

/** Error responses are sent as application/problem+json; the document says so. */
function declareProblemResponses<T>(document: T): T {
  const paths = (document as OpenApiDocument).paths ?? {};
  for (const operation of Object.values(paths).flatMap((path) => Object.values(path))) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      const json = response.content?.['application/json'];
      if (Number(status) < 400 || !json) continue;
      response.content = { 'application/problem+json': json };
    }
  }
  return document;
}

/** The HTTP API: routes, OpenAPI document, and problem+json for every error. */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps Fastify's default generic types.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT_CHARS },
    frameworkErrors: routerError,
  });
  app.setValidatorCompiler(schemaValidators());

  app.setErrorHandler(handleError);
  // The token is checked before the body is read: a caller without one learns nothing about
  // what the body should have been.
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/v1/')) await authenticate(deps.pool, request);
  });
  acceptEmptyJsonBodies(app);
  app.setNotFoundHandler((request) => {
    throw new AppError(
      'ROUTE_NOT_FOUND',
      `No route ${request.method} ${request.url.split('?')[0]}.`,
    );
  });

  await registerOpenApi(app);
  registerHealthRoute(app, deps);
  registerAffiliateRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  registerConnectionTestRoutes(app, deps);
  registerConnectorStatusRoute(app, deps);
  registerReloadRoutes(app, deps);
  registerExecutionRoutes(app, deps);
  registerExecutionEventsRoute(app, deps);
  registerEventRoutes(app, deps);
  return app;
}
