import { callExternal, type ExternalResult } from '@cads/http';

/** How a step service reaches its external system. */
export interface ExternalSystemOptions {
  /** Base URL the system's endpoint paths resolve against, e.g. `http://127.0.0.1:4010`. */
  readonly baseUrl: string;
  /** Limit of one HTTP attempt. Default 5 000. */
  readonly timeoutMs?: number;
  /** HTTP attempts per call before the answer counts as final. Default 3. */
  readonly attempts?: number;
  /** Delay before the second HTTP attempt, doubling after. Default 100. */
  readonly baseDelayMs?: number;
  /**
   * The `Authorization` header of each attempt, e.g. `() => credentials.authorization('x')`
   * with the calling service's `serviceCredentials`. Default: none sent.
   */
  readonly authorization?: () => Promise<string>;
}

/** One endpoint of an external system: `(method, idempotencyKey, body) → result`. */
export type ExternalEndpoint = (
  method: 'POST' | 'DELETE',
  idempotencyKey: string,
  body: unknown,
) => Promise<ExternalResult>;

/**
 * Binds `callExternal` to one endpoint (e.g. `/api/reserve`), naming the system in failure
 * reasons. See `callExternal` for retries and timeouts.
 */
export function externalEndpoint(
  options: ExternalSystemOptions,
  path: string,
  system: string,
): ExternalEndpoint {
  const url = new URL(path, options.baseUrl).href;
  return (method, idempotencyKey, body) =>
    callExternal({
      method,
      url,
      idempotencyKey,
      body,
      system,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
      ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
    });
}
