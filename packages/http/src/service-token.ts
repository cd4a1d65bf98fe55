import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { httpProblem } from './problem.ts';

/**
 * The `Authorization` header one service sends another. `Bearer <JWT>` signed with HS256 by the
 * deployment's internal secret: the caller's name (`iss`), the service it is meant for (`aud`),
 * and, when the caller acts for a user, that user's id (`sub`). Short-lived, so a token seen in
 * a log or a proxy is worth little.
 */
export interface ServiceCredentials {
  /** The header value for a call to `audience`, acting for `userId` when given. */
  authorization(audience: string, userId?: string): Promise<string>;
}

/** Who called, as a verified token says. */
export interface ServiceCaller {
  readonly service: string;
  /** The user the caller acts for; `undefined` when it acts for itself. */
  readonly userId: string | undefined;
}

export interface ServiceCredentialOptions {
  /** The deployment's internal secret, shared by every service; at least 32 characters. */
  readonly secret: string;
  /** The calling service's name (`iss`). */
  readonly service: string;
  /** How long a token is valid. Default 60 s. */
  readonly ttlMs?: number;
  /** The clock (tests). Default `Date.now`. */
  readonly now?: () => number;
}

const minimumSecretLength = 32;
/** Tokens of the service itself (no user) are signed again once this share of their life is gone. */
const reuseShare = 0.5;
/** Tolerated clock skew between two hosts of one deployment. */
const clockToleranceMs = 5_000;
/** Verified tokens without a user (reused by their callers) kept, at most. */
const verifiedLimit = 256;

/** The HMAC key of `secret`: a digest, so every secret length gives a full-strength key. */
function keyOf(secret: string): Buffer {
  if (secret.length < minimumSecretLength) {
    throw new TypeError(
      `the internal secret must have at least ${minimumSecretLength} characters (it has ${secret.length})`,
    );
  }
  return createHash('sha256').update(`cads-service-token:${secret}`).digest();
}

/**
 * Signs the calling service's tokens (HS256, with `fast-jwt`: node's own HMAC, about ten times
 * cheaper per token than WebCrypto, which matters at a few tokens per saga).
 *
 * Guarantees: a token names exactly one audience, so one meant for the mailer service
 * is refused by the billing service; it expires after `ttlMs`. A token without a user is reused
 * for half its life (one signature per audience and half-minute, not per call); a token for a
 * user is signed per call.
 */
export function serviceCredentials(options: ServiceCredentialOptions): ServiceCredentials {
  const sign = createSigner({ key: keyOf(options.secret), algorithm: 'HS256', noTimestamp: true });
  const ttlSeconds = Math.ceil((options.ttlMs ?? 60_000) / 1000);
  const now = options.now ?? Date.now;
  const own = new Map<string, { readonly header: string; readonly renewAt: number }>();

  const signed = (audience: string, userId: string | undefined): string => {
    const exp = Math.floor(now() / 1000) + ttlSeconds;
    const claims = { iss: options.service, aud: audience, exp };
    return `Bearer ${sign(userId === undefined ? claims : { ...claims, sub: userId })}`;
  };

  return {
    authorization(audience, userId) {
      if (userId !== undefined) return Promise.resolve(signed(audience, userId));
      const kept = own.get(audience);
      if (kept && kept.renewAt > now()) return Promise.resolve(kept.header);
      const header = signed(audience, undefined);
      own.set(audience, { header, renewAt: now() + ttlSeconds * 1000 * reuseShare });
      return Promise.resolve(header);
    },
  };
}

export interface ServiceTokenCheckOptions {
  /** The deployment's internal secret (as the callers'). */
  readonly secret: string;
  /**
   * Secrets also accepted, for a rotation: first every process accepts the new secret here,
   * then the callers sign with it (`secret`), then the old one is dropped.
   */
  readonly acceptedSecrets?: readonly string[];
  /** This service's name: tokens for another audience are refused. */
  readonly audience: string;
  /** Only these callers are let through (403 for another). Default: any service of the deployment. */
  readonly callers?: readonly string[];
  /** The clock (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/** Checks the tokens of the services calling this one. */
export interface ServiceTokenCheck {
  /**
   * An `onRequest` hook: lets through a request bearing a valid token for this audience from
   * an allowed caller; anything else is a 401 problem (403 for a caller not allowed), before
   * the body is parsed.
   */
  readonly onRequest: (request: FastifyRequest) => Promise<void>;
  /** The verified caller of a request the hook let through. */
  callerOf(request: FastifyRequest): ServiceCaller;
}

/**
 * Verifies service tokens (see `serviceCredentials`).
 *
 * Guarantees: a request reaches the route only with a token signed by the internal secret (or
 * one of `acceptedSecrets`), for this audience, not expired (5 s of clock skew tolerated), from
 * an allowed caller; `callerOf` then gives its verified identity. Nothing of a refused token
 * is logged.
 */
export function serviceTokenCheck(options: ServiceTokenCheckOptions): ServiceTokenCheck {
  const verify = tokenVerifier(options);
  const callers = options.callers ? new Set(options.callers) : undefined;
  const verified = new WeakMap<FastifyRequest, ServiceCaller>();
  const challenge = { 'www-authenticate': 'Bearer realm="cads-internal"' };

  return {
    onRequest(request) {
      const caller = verify(request.headers.authorization);
      if (typeof caller === 'string') {
        return Promise.reject(httpProblem('CADS_UNAUTHORIZED', caller, { headers: challenge }));
      }
      if (callers && !callers.has(caller.service)) {
        return Promise.reject(
          httpProblem('CADS_FORBIDDEN', `The ${caller.service} service may not call this.`),
        );
      }
      verified.set(request, caller);
      return Promise.resolve();
    },
    callerOf(request) {
      const caller = verified.get(request);
      if (!caller) throw new Error('callerOf: the request did not pass the service token check');
      return caller;
    },
  };
}

/**
 * The caller a `Bearer` service token names, verified as `serviceTokenCheck` does (for
 * receivers that are not fastify apps), or why it is refused.
 */
export function readServiceToken(
  options: { readonly secret: string; readonly audience: string; readonly now?: () => number },
  authorization: string | undefined,
): Promise<ServiceCaller | { readonly refused: string }> {
  const caller = tokenVerifier(options)(authorization);
  return Promise.resolve(typeof caller === 'string' ? { refused: caller } : caller);
}

/**
 * Verifies a header against each accepted secret in turn: the caller, or why it is refused.
 * A token without a user is kept once verified, until it expires: its caller sends the same
 * one for half a minute, so most calls cost a map lookup.
 */
function tokenVerifier(
  options: Pick<ServiceTokenCheckOptions, 'secret' | 'acceptedSecrets' | 'audience' | 'now'>,
): (header: string | string[] | undefined) => ServiceCaller | string {
  const keys = [options.secret, ...(options.acceptedSecrets ?? [])].map(keyOf);
  const now = options.now ?? Date.now;
  const verifierOf = (key: Buffer, clockTimestamp?: number) =>
    createVerifier({
      key,
      algorithms: ['HS256'],
      allowedAud: options.audience,
      requiredClaims: ['iss', 'aud', 'exp'],
      clockTolerance: clockToleranceMs,
      ...(clockTimestamp === undefined ? {} : { clockTimestamp }),
    });
  // A test's clock moves: its verifiers are built per call, at its time.
  const fixed = options.now ? undefined : keys.map((key) => verifierOf(key));
  const kept = new Map<string, { readonly caller: ServiceCaller; readonly expiresAt: number }>();

  return (header) => {
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
      return 'This endpoint is internal: it needs a service token.';
    }
    const token = header.slice('Bearer '.length);
    const known = kept.get(token);
    if (known && known.expiresAt > now()) return known.caller;
    const verifiers = fixed ?? keys.map((key) => verifierOf(key, now()));
    let refusal = 'The service token is not valid here.';
    for (const verify of verifiers) {
      try {
        const claims = verify(token) as { iss?: unknown; sub?: unknown; exp: number };
        if (typeof claims.iss !== 'string') return refusal;
        const userId = typeof claims.sub === 'string' ? claims.sub : undefined;
        const caller: ServiceCaller = { service: claims.iss, userId };
        if (userId === undefined) {
          if (kept.size >= verifiedLimit) kept.clear();
          kept.set(token, { caller, expiresAt: claims.exp * 1000 });
        }
        return caller;
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        // Signed with another key: the next accepted secret may be the one.
        if (error.code === TokenError.codes.invalidSignature) continue;
        if (error.code === TokenError.codes.expired) refusal = 'The service token has expired.';
        break;
      }
    }
    return refusal;
  };
}
