import Type, { type Static } from 'typebox';

/**
 * Every error an HTTP surface of CADS can answer with. Codes are part of the public contract:
 * clients branch on `code`, never on `title` or `detail`, so a code is never renamed or reused.
 */
export const errorCatalog = {
  CADS_VALIDATION: { status: 400, title: 'Request does not match its schema' },
  CADS_MALFORMED_BODY: { status: 400, title: 'Request body cannot be parsed' },
  CADS_BAD_REQUEST: { status: 400, title: 'Bad request' },
  CADS_UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  CADS_FORBIDDEN: { status: 403, title: 'Not allowed' },
  CADS_NOT_FOUND: { status: 404, title: 'Not found' },
  CADS_CONFLICT: { status: 409, title: 'Conflict with the current state' },
  CADS_PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  CADS_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  CADS_TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests' },
  CADS_INTERNAL: { status: 500, title: 'Internal error' },
  CADS_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof errorCatalog;

/** One invalid field: `field` is `<part>/<json pointer>` such as `body/items/0/amount`. */
export interface FieldError {
  readonly field: string;
  readonly reason: string;
}

/** RFC 9457 problem details as CADS renders them (`application/problem+json`). */
export const ProblemDetailsSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.String(),
    instance: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), reason: Type.String() }))),
  },
  // Extension members (e.g. readiness `checks`) must survive response serialization.
  { additionalProperties: true },
);

export type ProblemDetails = Static<typeof ProblemDetailsSchema> & Record<string, unknown>;

export const problemContentType = 'application/problem+json; charset=utf-8';

/** The `type` URI of a code: stable, and the same for every response with that code. */
export function problemType(code: ProblemCode): string {
  return `urn:cads:problem:${code.slice('CADS_'.length).toLowerCase().replaceAll('_', '-')}`;
}

export interface HttpProblemOptions {
  readonly cause?: unknown;
  readonly errors?: readonly FieldError[];
  /** Response headers such as `retry-after` (503) or `www-authenticate` (401). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extension members added to the body; they never override the standard ones. */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/**
 * The error services throw to answer with a problem. Its `detail` is sent to the client as is,
 * so it must be written for the client; put internal context in `cause`, which is only logged.
 */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  readonly code: ProblemCode;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(code: ProblemCode, detail: string, options: HttpProblemOptions = {}) {
    super(`${code}: ${detail}`, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.status = errorCatalog[code].status;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

/**
 * Builds the problem to throw from a handler: the error handler answers with the catalog's
 * status for `code`, `detail` as written, and logs `cause` (never sent) for 5xx codes.
 */
export function httpProblem(
  code: ProblemCode,
  detail: string,
  options?: HttpProblemOptions,
): HttpProblem {
  return new HttpProblem(code, detail, options);
}

/** Renders a problem's body; `instance` is the request path the problem occurred on. */
export function toProblemDetails(problem: HttpProblem, instance: string): ProblemDetails {
  return {
    ...problem.extensions,
    type: problemType(problem.code),
    title: errorCatalog[problem.code].title,
    status: problem.status,
    code: problem.code,
    detail: problem.detail,
    instance,
    ...(problem.errors === undefined ? {} : { errors: [...problem.errors] }),
  };
}
