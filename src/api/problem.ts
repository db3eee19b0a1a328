import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import { AppError, errorCatalogue, type ErrorCode, type FieldProblem } from '../errors.ts';

/** RFC 9457 problem details, as every error response of the API is shaped. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: FieldProblem[];
}

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BODY_MALFORMED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_MALFORMED',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'BODY_UNSUPPORTED_MEDIA_TYPE',
};

function problemType(code: ErrorCode): string {
  return `urn:affiliate-mirror:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/** `/body/port` and `must be integer` become field `port` and a sentence naming it. */
function fieldProblems(error: FastifyError): FieldProblem[] {
  return (error.validation ?? []).map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const params = issue.params as {
      missingProperty?: string;
      additionalProperty?: string;
      allowedValues?: unknown[];
    };
    const named = params.missingProperty ?? params.additionalProperty;
    const field = named
      ? [path, named].filter(Boolean).join('.')
      : path || error.validationContext || 'body';
    const message = params.allowedValues
      ? `must be one of ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`
      : params.missingProperty
        ? 'is required'
        : params.additionalProperty
          ? 'is not a known field'
          : (issue.message ?? 'is not valid');
    return { field, message };
  });
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;

  const framework = error as FastifyError;
  if (framework.validation) {
    const fields = fieldProblems(framework);
    const detail = fields.map((problem) => `${problem.field} ${problem.message}`).join('; ');
    return new AppError('VALIDATION_FAILED', detail, { fields });
  }
  const mapped = framework.code ? FRAMEWORK_CODES[framework.code] : undefined;
  if (mapped) return new AppError(mapped, errorCatalogue[mapped].title);
  if (framework.statusCode === 413) return new AppError('BODY_TOO_LARGE');
  return new AppError('INTERNAL', 'Internal error; the service log has the details.', {
    cause: error,
  });
}

export function problemFor(error: unknown, instance?: string): Problem {
  const appError = toAppError(error);
  return {
    type: problemType(appError.code),
    title: errorCatalogue[appError.code].title,
    status: appError.status,
    detail: appError.message,
    code: appError.code,
    instance,
    ...(appError.fields.length > 0 ? { errors: appError.fields } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** The server's error handler: every error becomes problem+json; only 5xx are logged as errors. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const problem = problemFor(error, request.url.split('?')[0]);
  if (problem.status >= 500) {
    request.log.error({ err: error, code: problem.code }, 'request failed');
  } else {
    request.log.info({ code: problem.code, status: problem.status }, problem.detail);
  }
  return sendProblem(reply, problem);
}
