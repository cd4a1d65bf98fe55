import type { Database } from '@cads/storage';
import type { FastifyReply } from 'fastify';
import type { EndpointConfig, ExternalSystem, FailureResponse } from '../contracts/api.ts';
import { answerDelayMs, decideCall, isFinal } from '../domain/answer.ts';
import { callScopes, type CallMethod, endpointOf, pickConfig } from '../domain/config.ts';
import type { GuardedWrite } from '../store/guarded-write.ts';
import { type CallAnswer, readCall, recordAttempt } from '../store/idempotency-store.ts';

export interface CallContext {
  readonly db: Database;
  readonly now: () => Date;
  /** [0, 1), for the random part of the delay. */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** What a successful call answers, and the write that makes it so (none for a refusal). */
export interface PlannedEffect {
  readonly answer: CallAnswer;
  /** Runs only if the answer is recorded, in the statement that records it. */
  readonly write?: GuardedWrite;
}

/**
 * What a successful call would do, planned without touching the database: the answer and its
 * write. It may still refuse (e.g. 422 for an unknown dish); `status` is the configured 2xx. A
 * call may plan more than once (see `answerCall`); only the plan it answers with is written.
 */
export type CallEffect<Body> = (body: Body, status: number, at: Date) => PlannedEffect;

export interface Call<Body> {
  readonly system: ExternalSystem;
  readonly method: CallMethod;
  readonly key: string;
  readonly body: Body;
}

export interface CallOutcome {
  readonly answer: CallAnswer;
  readonly replayed: boolean;
}

const jsonType = 'application/json; charset=utf-8';

/** Serialised once, so the stored copy and the first answer are the same bytes. */
export function jsonAnswer(status: number, value: unknown): CallAnswer {
  if (status === 204) return emptyAnswer(status);
  return { status, contentType: jsonType, body: JSON.stringify(value) };
}

export function emptyAnswer(status: number): CallAnswer {
  return { status, contentType: undefined, body: '' };
}

export function failureAnswer(status: number, reason: string): CallAnswer {
  const failure: FailureResponse = { reason };
  return { status, contentType: jsonType, body: JSON.stringify(failure) };
}

/**
 * How often one call reads its key again after other calls with the key were recorded in
 * between; each such round means another call made progress, so this is reached only under
 * pathological contention, and answers a 500 (not stored: the caller retries).
 */
const maxReads = 20;

/**
 * Answers one call to an external system, in two statements and no transaction: `readCall`
 * (the key and the configs), then, unless the key replays, `recordAttempt` (count, answer and
 * effect at once, if the key has not moved on since the read; otherwise read again).
 *
 * Guarantees: the idempotency key, the attempt count, the effect and the stored answer are
 * written by one statement, so a crash leaves either all of them or none; a crash before it
 * leaves nothing (the read writes nothing), and a retry with the key is answered as if this
 * call never came. Concurrent calls with one key are serialised by that statement's
 * compare-and-set: each is recorded from the state the previous one left, or reads again and
 * replays or counts as the next attempt, so the effect happens at most once per key. A 2xx/4xx
 * answer is replayed byte-for-byte to every later call with the key, a 5xx is not stored. The
 * configured delay passes after the commit, as a slow network would: a caller that gives up
 * during it finds the answer stored when it retries.
 */
export async function answerCall<Body extends { orderId: string; userId: string }>(
  context: CallContext,
  call: Call<Body>,
  effect: CallEffect<Body>,
): Promise<CallOutcome & { readonly delayMs: number }> {
  const at = context.now();
  const scopes = callScopes(call.body);
  for (let read = 1; read <= maxReads; read += 1) {
    const { key, configs } = await readCall(context.db, call, scopes);
    const endpoint = endpointOf(pickConfig(scopes, configs), call.system, call.method);
    if (key.kind === 'answered') return delayed(context, endpoint, key.answer, true);
    const attempt = key.attempts + 1;
    const decision = decideCall(endpoint, call.system, attempt);
    const { answer, write }: PlannedEffect =
      decision.kind === 'fail'
        ? { answer: failureAnswer(decision.status, decision.reason) }
        : effect(call.body, decision.status, at);
    const stored = isFinal(answer.status) ? answer : undefined;
    if (await recordAttempt(context.db, call, { attempt, answer: stored, write }, at)) {
      return delayed(context, endpoint, answer, false);
    }
  }
  throw new Error(
    `${call.system} ${call.method} key ${call.key}: still contended after ${maxReads} reads`,
  );
}

async function delayed(
  context: CallContext,
  endpoint: EndpointConfig,
  answer: CallAnswer,
  replayed: boolean,
): Promise<CallOutcome & { readonly delayMs: number }> {
  const delayMs = answerDelayMs(endpoint, context.random);
  await context.sleep(delayMs);
  return { answer, replayed, delayMs };
}

/** Sends an answer as stored; a replay says so in `idempotent-replayed`. */
export function sendAnswer(reply: FastifyReply, outcome: CallOutcome): FastifyReply {
  const { answer } = outcome;
  reply.code(answer.status);
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  if (answer.contentType === undefined) return reply.send();
  return reply.type(answer.contentType).send(answer.body);
}
