export type {
  CircuitBreaker,
  CircuitBreakerOptions,
  CircuitPass,
  CircuitState,
} from './circuit-breaker.ts';
export { createCircuitBreaker } from './circuit-breaker.ts';
export type { Consumer, ConsumerOptions, OutagePolicy } from './consumer.ts';
export { createConsumer, defaultOutagePolicy, isOutage } from './consumer.ts';
export type { DeadLetter, DeadLetterQuery } from './dead-letters.ts';
export {
  countDeadLetters,
  discardDeadLetter,
  getDeadLetter,
  listDeadLetters,
  requestRedrive,
} from './dead-letters.ts';
export type { DeadLetterReason } from './errors.ts';
export { RetryableError, TerminalError, UnavailableError } from './errors.ts';
export type { HandlerContext, HandlerDefinition, PrepareContext } from './handler.ts';
export { on } from './handler.ts';
export { claimInbox, pruneInbox } from './inbox.ts';
export { checkWritable, installConsumerTables } from './install.ts';
export type { KeyLanes, KeyLanesOptions } from './key-lanes.ts';
export { createKeyLanes } from './key-lanes.ts';
export type { ConsumerMetrics, ConsumerStats, HandlerOutcome } from './observability.ts';
export { noMetrics } from './observability.ts';
export type { Emit, Outbox } from './outbox.ts';
export { childTraceparent, createCausedMessage, enqueue, tableOutbox } from './outbox.ts';
export type { OutboxRelay, OutboxRelayOptions } from './outbox-relay.ts';
export { createOutboxRelay } from './outbox-relay.ts';
export type { RetryPolicy } from './retry-policy.ts';
export { defaultRetryPolicy, retryDelayMs } from './retry-policy.ts';
