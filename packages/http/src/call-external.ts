import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CallExternalOptions {
  readonly method: 'POST' | 'DELETE';
  readonly url: string;
  /**
   * Sent as `Idempotency-Key`: the same key on every attempt, so the external system applies the
   * call at most once however often it is retried. Derive it from the business step
   * (e.g. `${parcelId}:billing:charge`), never from the attempt.
   */
  readonly idempotencyKey: string;
  /** JSON body. */
  readonly body?: unknown;
  /** Names the system in failure reasons, e.g. `warehouse system`. Default: the URL's host. */
  readonly system?: string;
  /** Limit of one attempt, connection and body included. Default 5 000. */
  readonly timeoutMs?: number;
  /** Attempts in all, the first included. Default 3. */
  readonly attempts?: number;
  /** Delay before the second attempt; doubles for each later one, with jitter. Default 100. */
  readonly baseDelayMs?: number;
  /**
   * The `Authorization` header, asked for before each attempt (a short-lived credential such
   * as a service token stays fresh across retries). Default: none sent.
   */
  readonly authorization?: () => Promise<string>;
}

/**
 * The outcome of a call. `ok: false` with a `status` is the system's own final answer (a 4xx, or
 * a 5xx that lasted through every attempt); without a `status` the system never answered.
 */
export type ExternalResult =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | { readonly ok: false; readonly status: number | undefined; readonly reason: string };

/**
 * Whether the system refused the caller's credential (401) rather than the request: a fault of
 * the deployment (a secret not yet rolled out everywhere), which callers wait out as an outage
 * instead of taking it for the system's answer.
 */
export function credentialRefused(result: ExternalResult): boolean {
  return !result.ok && result.status === 401;
}

/**
 * Whether a failed call is an outage to wait out rather than the system's answer: no answer,
 * a 5xx that lasted through every attempt, or a refused credential (`credentialRefused`).
 */
export function isExternalOutage(result: ExternalResult): boolean {
  return (
    !result.ok && (result.status === undefined || result.status >= 500 || credentialRefused(result))
  );
}

/**
 * Calls an external system's JSON API with an idempotency key.
 *
 * Guarantees: at most `attempts` requests, each bounded by `timeoutMs`. Transient failures
 * (network error, timeout, 5xx) are retried after an exponential, jittered delay; a 2xx or 4xx
 * is final at once. Never throws for an HTTP or network failure: the caller gets a result and
 * decides (a rejection event, or a retry of its own). `reason` is the body's `reason` when the
 * system gave one, else a text naming the system, the attempts and the last failure.
 */
export async function callExternal(options: CallExternalOptions): Promise<ExternalResult> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const system = options.system ?? new URL(options.url).host;
  let last: ExternalResult = { ok: false, status: undefined, reason: `${system} not called` };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(backoffMs(baseDelayMs, attempt - 1));
    const outcome = await attemptOnce(options, timeoutMs);
    if (outcome.kind === 'answer') {
      const { status, body } = outcome;
      if (status >= 200 && status < 300) return { ok: true, status, body };
      last = {
        ok: false,
        status,
        reason:
          reasonOf(body) ??
          `${system} answered ${status}${status >= 500 ? ` after ${attempt} attempts` : ''}`,
      };
      if (status < 500) return last;
    } else {
      last = {
        ok: false,
        status: undefined,
        reason: `${system} unreachable after ${attempt} attempts: ${outcome.error}`,
      };
    }
  }
  return last;
}

type Attempt =
  | { readonly kind: 'answer'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'failure'; readonly error: string };

/**
 * One request over the process's shared keep-alive pool. `undici.request` rather than `fetch`:
 * the same client without the WHATWG streams and objects around it, which made `fetch` the
 * largest CPU cost of a saga step.
 */
async function attemptOnce(options: CallExternalOptions, timeoutMs: number): Promise<Attempt> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const authorization = await options.authorization?.();
    const response = await request(options.url, {
      method: options.method,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        'idempotency-key': options.idempotencyKey,
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal,
    });
    const text = await response.body.text();
    return { kind: 'answer', status: response.statusCode, body: parseBody(text) };
  } catch (error) {
    return { kind: 'failure', error: signal.aborted ? 'timeout' : describe(error) };
  }
}

/** Exponential delay with jitter: uniform between half and all of `base * 2^(n-1)`. */
function backoffMs(baseDelayMs: number, retry: number): number {
  const exponential = baseDelayMs * 2 ** (retry - 1);
  return Math.round(exponential / 2 + Math.random() * (exponential / 2));
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function reasonOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const reason = (body as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason.length > 0 ? reason : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timeout';
    const { code } = error as { code?: unknown };
    if (typeof code === 'string' && !code.startsWith('UND_ERR')) return code;
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (typeof cause?.code === 'string') return cause.code;
    if (typeof cause?.message === 'string') return cause.message;
    return error.message;
  }
  return String(error);
}
