import type { Database, Transaction } from '@cads/storage';
import type { FastifyReply } from 'fastify';
import type { ExternalSystem, FailureResponse } from '../contracts/api.ts';
import { answerDelayMs, decideCall, isFinal } from '../domain/answer.ts';
import { callScopes, type CallMethod, endpointOf, pickConfig } from '../domain/config.ts';
import { readConfigs } from '../store/config-store.ts';
import { type CallAnswer, claimCall, recordAnswer } from '../store/idempotency-store.ts';

export interface CallContext {
  readonly db: Database;
  readonly now: () => Date;
  /** [0, 1), for the random part of the delay. */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * What a successful call does inside the call's transaction: its record, and the answer. It may
 * still refuse (e.g. 422 for an unknown dish); `status` is the configured 2xx.
 */
export type CallEffect<Body> = (
  tx: Transaction,
  body: Body,
  status: number,
  at: Date,
) => Promise<CallAnswer>;

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
 * Answers one call to an external system.
 *
 * Guarantees: the idempotency key, the attempt count, the effect and the stored answer commit in
 * one transaction, so a crash leaves either all of them or none; concurrent calls with one key
 * are serialised by the key's row lock, so the effect happens at most once per key; a 2xx/4xx
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
  const outcome = await context.db.transaction(async (tx) => {
    const claim = await claimCall(tx, call, at);
    const endpoint = endpointOf(
      pickConfig(scopes, await readConfigs(tx, scopes)),
      call.system,
      call.method,
    );
    if (claim.kind === 'replay') return { answer: claim.answer, replayed: true, endpoint };
    const decision = decideCall(endpoint, call.system, claim.attempt);
    const answer =
      decision.kind === 'fail'
        ? failureAnswer(decision.status, decision.reason)
        : await effect(tx, call.body, decision.status, at);
    if (isFinal(answer.status)) await recordAnswer(tx, call, answer, at);
    return { answer, replayed: false, endpoint };
  });
  const delayMs = answerDelayMs(outcome.endpoint, context.random);
  await context.sleep(delayMs);
  return { answer: outcome.answer, replayed: outcome.replayed, delayMs };
}

/** Sends an answer as stored; a replay says so in `idempotent-replayed`. */
export function sendAnswer(reply: FastifyReply, outcome: CallOutcome): FastifyReply {
  const { answer } = outcome;
  reply.code(answer.status);
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  if (answer.contentType === undefined) return reply.send();
  return reply.type(answer.contentType).send(answer.body);
}
