import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors, jwtVerify, SignJWT } from 'jose';
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
const clockToleranceSeconds = 5;

/** The HMAC key of `secret`: a digest, so every secret length gives a full-strength key. */
function keyOf(secret: string): Uint8Array {
  if (secret.length < minimumSecretLength) {
    throw new TypeError(
      `the internal secret must have at least ${minimumSecretLength} characters (it has ${secret.length})`,
    );
  }
  return new Uint8Array(createHash('sha256').update(`cads-service-token:${secret}`).digest());
}

/**
 * Signs the calling service's tokens.
 *
 * Guarantees: a token names exactly one audience, so one meant for the mailer service
 * is refused by the billing service; it expires after `ttlMs`. A token without a user is reused
 * for half its life (one signature per audience and half-minute, not per call); a token for a
 * user is signed per call.
 */
export function serviceCredentials(options: ServiceCredentialOptions): ServiceCredentials {
  const key = keyOf(options.secret);
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const own = new Map<string, { readonly header: string; readonly renewAt: number }>();

  async function sign(audience: string, userId: string | undefined): Promise<string> {
    const issuedAt = Math.floor(now() / 1000);
    const token = new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(options.service)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + Math.ceil(ttlMs / 1000));
    if (userId !== undefined) token.setSubject(userId);
    return `Bearer ${await token.sign(key)}`;
  }

  return {
    async authorization(audience, userId) {
      if (userId !== undefined) return sign(audience, userId);
      const kept = own.get(audience);
      if (kept && kept.renewAt > now()) return kept.header;
      const header = await sign(audience, undefined);
      own.set(audience, { header, renewAt: now() + ttlMs * reuseShare });
      return header;
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
 * Guarantees: a request reaches the route only with a token signed by the internal secret,
 * for this audience, not expired (5 s of clock skew tolerated), from an allowed caller;
 * `callerOf` then gives its verified identity. Nothing of a refused token is logged.
 */
export function serviceTokenCheck(options: ServiceTokenCheckOptions): ServiceTokenCheck {
  const keys = [options.secret, ...(options.acceptedSecrets ?? [])].map(keyOf);
  const callers = options.callers ? new Set(options.callers) : undefined;
  const now = options.now;
  const verified = new WeakMap<FastifyRequest, ServiceCaller>();
  const challenge = { 'www-authenticate': 'Bearer realm="cads-internal"' };

  const refuse = (detail: string) =>
    httpProblem('CADS_UNAUTHORIZED', detail, { headers: challenge });

  return {
    async onRequest(request) {
      const caller = await verifyServiceToken(
        keys,
        options.audience,
        request.headers.authorization,
        now,
      );
      if (typeof caller === 'string') throw refuse(caller);
      if (callers && !callers.has(caller.service)) {
        throw httpProblem('CADS_FORBIDDEN', `The ${caller.service} service may not call this.`);
      }
      verified.set(request, caller);
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
export async function readServiceToken(
  options: { readonly secret: string; readonly audience: string; readonly now?: () => number },
  authorization: string | undefined,
): Promise<ServiceCaller | { readonly refused: string }> {
  const caller = await verifyServiceToken(
    [keyOf(options.secret)],
    options.audience,
    authorization,
    options.now,
  );
  return typeof caller === 'string' ? { refused: caller } : caller;
}

async function verifyServiceToken(
  keys: readonly Uint8Array[],
  audience: string,
  header: string | string[] | undefined,
  now: (() => number) | undefined,
): Promise<ServiceCaller | string> {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
    return 'This endpoint is internal: it needs a service token.';
  }
  const token = header.slice('Bearer '.length);
  let refusal = 'The service token is not valid here.';
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        audience,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['iss', 'exp'],
        ...(now ? { currentDate: new Date(now()) } : {}),
      });
      return { service: String(payload.iss), userId: payload.sub };
    } catch (error) {
      if (!(error instanceof errors.JOSEError)) throw error;
      // Signed with another key: the next accepted secret may be the one.
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      if (error instanceof errors.JWTExpired) refusal = 'The service token has expired.';
      break;
    }
  }
  return refusal;
}
