import { isDatabaseUnavailable } from '@cads/storage';
import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { HttpApp } from './http-app.ts';
import {
  type FieldError,
  httpProblem,
  HttpProblem,
  problemContentType,
  type ProblemCode,
  toProblemDetails,
} from './problem.ts';
import { describeFieldErrors, toFieldErrors } from './validation.ts';

const codeByFastifyError: Readonly<Record<string, ProblemCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'CADS_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'CADS_MALFORMED_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'CADS_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CADS_UNSUPPORTED_MEDIA_TYPE',
};

const codeByStatus: Readonly<Record<number, ProblemCode>> = {
  401: 'CADS_UNAUTHORIZED',
  403: 'CADS_FORBIDDEN',
  404: 'CADS_NOT_FOUND',
  409: 'CADS_CONFLICT',
  413: 'CADS_PAYLOAD_TOO_LARGE',
  415: 'CADS_UNSUPPORTED_MEDIA_TYPE',
  429: 'CADS_TOO_MANY_REQUESTS',
};

function property(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

function stringProperty(value: unknown, key: string): string | undefined {
  const found = property(value, key);
  return typeof found === 'string' ? found : undefined;
}

function isSchemaError(value: unknown): value is FastifySchemaValidationError {
  const params = property(value, 'params');
  return (
    typeof property(value, 'keyword') === 'string' &&
    typeof property(value, 'instancePath') === 'string' &&
    typeof params === 'object' &&
    params !== null
  );
}

function validationOf(error: unknown): FieldError[] | undefined {
  const validation = property(error, 'validation');
  if (!Array.isArray(validation)) return undefined;
  return toFieldErrors(
    stringProperty(error, 'validationContext') ?? 'request',
    validation.filter(isSchemaError),
  );
}

/**
 * Maps anything a route can throw to the problem to render. Only Fastify's own errors
 * (`FST_*`) may choose a 4xx status: an arbitrary error carrying `statusCode` (say, a 404 from
 * an upstream HTTP client) is a bug here, not the client's fault, so it becomes a 500. A
 * database that is unavailable (unreachable, restarting, full, read-only) is an outage, not a
 * bug: 503 with `Retry-After`, so clients retry.
 */
export function classifyError(error: unknown, requestId: string): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (isDatabaseUnavailable(error)) {
    return httpProblem('CADS_UNAVAILABLE', 'The service’s database is unavailable; try again.', {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  }
  const fieldErrors = validationOf(error);
  if (fieldErrors !== undefined) {
    return httpProblem('CADS_VALIDATION', describeFieldErrors(fieldErrors), {
      errors: fieldErrors,
      cause: error,
    });
  }
  const fastifyCode = stringProperty(error, 'code');
  const statusCode = property(error, 'statusCode');
  const status = typeof statusCode === 'number' ? statusCode : 500;
  if (fastifyCode?.startsWith('FST_') && status >= 400 && status < 500) {
    const code = codeByFastifyError[fastifyCode] ?? codeByStatus[status] ?? 'CADS_BAD_REQUEST';
    const detail =
      code === 'CADS_MALFORMED_BODY'
        ? 'The body is not valid JSON.'
        : (stringProperty(error, 'message') ?? 'The request cannot be processed.');
    return httpProblem(code, detail, { cause: error });
  }
  return httpProblem(
    'CADS_INTERNAL',
    `The request failed unexpectedly; it was logged with request id ${requestId}.`,
    { cause: error },
  );
}

/** The innermost message of an error's `cause` chain (e.g. `connect ECONNREFUSED …`). */
function causeOf(error: unknown): string | undefined {
  let at: unknown = error;
  let message: string | undefined;
  for (let depth = 0; at !== undefined && depth < 10; depth++) {
    message = stringProperty(at, 'message') ?? message;
    at = property(at, 'cause');
  }
  return message;
}

function requestPath(request: FastifyRequest): string {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

/** Sends `problem` as `application/problem+json`; the one place problems are rendered. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: HttpProblem,
): FastifyReply {
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type(problemContentType)
    .send(toProblemDetails(problem, requestPath(request)));
}

/**
 * Installs the app's one error handler and its not-found handler. Every failure becomes a
 * problem+json response with a stable code; 5xx bodies carry no message or stack of the
 * underlying error, which is logged (with the request id) instead.
 */
export function installProblemHandlers(app: HttpApp): void {
  app.setErrorHandler((error, request, reply) => {
    const problem = classifyError(error, request.id);
    if (problem.code === 'CADS_UNAVAILABLE') {
      // An outage (a dependency down), not a bug: one line without a stack; the client retries.
      request.log.warn(
        { code: problem.code, detail: problem.detail, cause: causeOf(error) },
        'request failed: dependency unavailable',
      );
    } else if (problem.status >= 500) {
      request.log.error({ err: error, code: problem.code }, 'request failed');
    } else {
      request.log.info({ code: problem.code, detail: problem.detail }, 'request rejected');
    }
    return sendProblem(request, reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      httpProblem('CADS_NOT_FOUND', `No route matches ${request.method} ${requestPath(request)}.`),
    ),
  );
}
