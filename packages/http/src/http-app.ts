import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyRequest,
  LogController,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger as PinoLogger, LoggerOptions } from 'pino';
import type { Registry } from 'prom-client';
import Type from 'typebox';
import { installProblemHandlers, sendProblem } from './error-handler.ts';
import { EventStreamRegistry } from './event-stream.ts';
import { createMetricsRegistry, observeHttpRequests } from './metrics.ts';
import { installNulGuard } from './nul-guard.ts';
import { installOpenApiConventions, namedSecuritySchemes } from './openapi-conventions.ts';
import { httpProblem, ProblemDetailsSchema } from './problem.ts';
import { CheckResultSchema, type ReadinessCheck, runReadinessChecks } from './readiness.ts';
import { securitySchemes } from './security-schemes.ts';
import { createValidatorFactory } from './validation.ts';

/** A Fastify instance whose route schemas are TypeBox types (request and reply are inferred). */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface OpenApiInfo {
  /** Defaults to the service name. */
  readonly title?: string;
  readonly description?: string;
  /**
   * Default: `/` alone, the host that serves the document, so one document holds for every
   * deployment.
   */
  readonly servers?: readonly { readonly url: string; readonly description?: string }[];
}

const defaultServers = [{ url: '/', description: 'The host serving this document' }];

export interface HttpAppOptions {
  /** Added to every log line and metric series (`service` label). */
  readonly service: string;
  readonly version: string;
  /**
   * A pino logger (the app logs through a child bound to `service` and `version`), or options
   * for one; default: JSON lines at `info` on stdout.
   */
  readonly logger?: PinoLogger | LoggerOptions;
  /** Dependencies `GET /ready` waits for, by name. */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  /** Per readiness check. Default 2 s: below the usual probe timeout of orchestrators. */
  readonly readinessTimeoutMs?: number;
  /** Registry served on `GET /metrics`; default: `createMetricsRegistry({ service })`. */
  readonly metrics?: Registry;
  readonly openapi?: OpenApiInfo;
  /** Larger bodies are refused with 413 before parsing. Default 256 KiB. */
  readonly bodyLimitBytes?: number;
  /**
   * How long `app.close()` lets in-flight requests finish before cutting every connection still
   * open. Default 10 s: a client holding a silent connection must not stall shutdown.
   */
  readonly shutdownGraceMs?: number;
}

const defaultBodyLimitBytes = 256 * 1024;
const defaultReadinessTimeoutMs = 2_000;
const defaultShutdownGraceMs = 10_000;
const requestIdPattern = /^[\w.:-]{1,128}$/;

/** A caller's `x-request-id` is kept when it is safe to log and echo; otherwise a new one. */
function requestId(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
}

const probePaths = new Set(['/health', '/ready', '/metrics']);

/** Probes and scrapes arrive every few seconds: logging each would drown the useful lines. */
function isProbe(request: FastifyRequest): boolean {
  const query = request.url.indexOf('?');
  return probePaths.has(query === -1 ? request.url : request.url.slice(0, query));
}

function isLogger(logger: PinoLogger | LoggerOptions): logger is PinoLogger {
  return 'child' in logger && typeof logger.child === 'function';
}

const ReadyBodySchema = Type.Object({
  status: Type.Literal('ready'),
  checks: Type.Record(Type.String(), CheckResultSchema),
});

/**
 * Builds (does not start) the HTTP app of a service: TypeBox validation that rejects unknown
 * fields instead of stripping them, every error rendered as `application/problem+json` with a
 * stable code (see `errorCatalog`), request ids on every log line and response
 * (`x-request-id`), and these routes:
 * - `GET /health`: 200 while the process can answer (liveness; never checks dependencies);
 * - `GET /ready`: runs the readiness checks, 200 when all pass, else 503 naming the failing;
 * - `GET /metrics`: the registry in Prometheus text format, including request durations;
 * - `GET /openapi.json`: OpenAPI 3.1 generated from the schemas of every route registered.
 *
 * Every documented route gets an `operationId` (its own, or one derived from its method and
 * path) that must be unique, and may name in `schema.security` only schemes of
 * `securitySchemes`, which the document then declares (see `installOpenApiConventions`,
 * `defaultRouteSecurity`); a route breaking either is refused when registered.
 *
 * Register routes on the returned app, then `listen` (or `inject` in tests). `app.close()`
 * stops accepting, closes open event streams, lets in-flight requests finish for up to
 * `shutdownGraceMs`, then closes whatever connections remain.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const { service, version } = options;
  const registry = options.metrics ?? createMetricsRegistry({ service });
  const readiness = options.readiness ?? {};
  const readinessTimeoutMs = options.readinessTimeoutMs ?? defaultReadinessTimeoutMs;
  const logger = options.logger ?? { level: 'info' };

  const app = Fastify<
    RawServerDefault,
    RawRequestDefaultExpression,
    RawReplyDefaultExpression,
    FastifyBaseLogger
  >({
    ...(isLogger(logger)
      ? { loggerInstance: logger.child({ service, version }) }
      : {
          logger: {
            ...logger,
            base: { pid: process.pid, hostname: hostname(), ...logger.base, service, version },
          },
        }),
    bodyLimit: options.bodyLimitBytes ?? defaultBodyLimitBytes,
    requestIdHeader: false,
    genReqId: requestId,
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: isProbe,
    }),
    schemaController: { compilersFactory: { buildValidator: createValidatorFactory() } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const openStreams = new EventStreamRegistry();
  app.decorate('cadsEventStreams', openStreams);
  let forceClose: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    openStreams.closeAll();
    forceClose = setTimeout(
      () => app.server.closeAllConnections(),
      options.shutdownGraceMs ?? defaultShutdownGraceMs,
    );
    forceClose.unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearTimeout(forceClose);
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  installProblemHandlers(app);
  installNulGuard(app);
  observeHttpRequests(app, registry);

  // Awaited so that its onRoute hook sees every route registered after this function returns.
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.openapi?.title ?? service, version, ...pickDescription(options) },
      servers: [...(options.openapi?.servers ?? defaultServers)],
      // All of them for the generator, which leaves their headers and cookies out of the
      // operations' parameters; the document keeps those its operations name.
      components: { securitySchemes: { ...securitySchemes } },
    },
    transformObject(documentObject) {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      const document = documentObject.openapiObject;
      const { securitySchemes: _all, ...components } = document.components ?? {};
      const named = namedSecuritySchemes(document.paths);
      document.components =
        Object.keys(named).length > 0 ? { ...components, securitySchemes: named } : components;
      return document;
    },
  });
  installOpenApiConventions(app);

  const tags = ['operations'];
  app.get(
    '/health',
    {
      schema: {
        tags,
        operationId: 'health',
        summary: 'Liveness: the process is running',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags,
        operationId: 'ready',
        summary: 'Readiness: every dependency answers',
        security: [],
        response: { 200: ReadyBodySchema, 503: ProblemDetailsSchema },
      },
    },
    async (request, reply) => {
      const report = await runReadinessChecks(readiness, readinessTimeoutMs, request.log);
      if (report.ready) return { status: 'ready' as const, checks: report.checks };
      const failing = Object.entries(report.checks)
        .filter(([, result]) => result.status === 'fail')
        .map(([name, result]) => `${name} (${result.reason ?? 'failed'})`);
      const problem = httpProblem('CADS_UNAVAILABLE', `Not ready: ${failing.join(', ')}.`, {
        extensions: { checks: report.checks },
      });
      return sendProblem(request, reply, problem);
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  return app;
}

function pickDescription(options: HttpAppOptions): { description?: string } {
  const description = options.openapi?.description;
  return description === undefined ? {} : { description };
}
