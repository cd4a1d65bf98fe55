export type { ScrapeOptions } from './consumer-metrics.ts';
export { createConsumerMetrics, registerConsumerStats } from './consumer-metrics.ts';
export type {
  EncodedServerSentEvent,
  EventStream,
  EventStreamOptions,
  ServerSentEvent,
} from './event-stream.ts';
export { encodeServerSentEvent, formatServerSentEvent, openEventStream } from './event-stream.ts';
export { eventStreamResponse } from './event-stream-response.ts';
export type { Heartbeat, HeartbeatOptions } from './heartbeat.ts';
export { createHeartbeat } from './heartbeat.ts';
export type { HttpApp, HttpAppOptions, OpenApiInfo } from './http-app.ts';
export { createHttpApp } from './http-app.ts';
export { createMetricsRegistry } from './metrics.ts';
export type { OpenApiDocument } from './openapi.ts';
export { writeOpenApi } from './openapi.ts';
export { deriveOperationId } from './openapi-conventions.ts';
export type {
  DocumentedRoute,
  SecurityRequirement,
  SecurityRequirements,
  SecurityScheme,
  SecuritySchemeName,
} from './security-schemes.ts';
export { defaultRouteSecurity, securitySchemes } from './security-schemes.ts';
export type { FieldError, HttpProblemOptions, ProblemCode, ProblemDetails } from './problem.ts';
export {
  errorCatalog,
  HttpProblem,
  httpProblem,
  ProblemDetailsSchema,
  problemType,
} from './problem.ts';
export type { CheckResult, ReadinessCheck } from './readiness.ts';
export type { CallExternalOptions, ExternalResult } from './call-external.ts';
export { callExternal, credentialRefused, isExternalOutage } from './call-external.ts';
export type {
  ServiceCaller,
  ServiceCredentialOptions,
  ServiceCredentials,
  ServiceTokenCheck,
  ServiceTokenCheckOptions,
} from './service-token.ts';
export { readServiceToken, serviceCredentials, serviceTokenCheck } from './service-token.ts';
export { requireBearerToken } from './bearer-token.ts';
