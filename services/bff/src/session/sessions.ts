import type { HttpApp } from '@cads/http';
import type { Logger } from '@cads/messaging';
import type { Database, Transaction } from '@cads/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type Session, sessionCookie } from '../contracts/api.ts';
import { isSessionId, newSessionId, sessionIdHash } from './session-id.ts';
import {
  deleteIdleSessions,
  findSession,
  insertSession,
  type RevokedSession,
  revokeSession,
  type SessionExpiry,
  type StoredSession,
  touchSession,
} from './session-store.ts';

/**
 * How a route uses the browser's session, declared in its `config.session`:
 * - `'none'`: never read or created (public routes such as the menu);
 * - `'read'`: read when the browser has a live one, never created (a WebSocket handshake, the
 *   routes that replace the session themselves);
 * - `'guest'`: read, or a new guest session created (cookie set) when there is none.
 *
 * Routes under `/api/` default to `'guest'` (a WebSocket handshake to `'read'`: its answer is
 * an upgrade, where a new cookie would be lost); any other route to `'none'`.
 */
export type SessionUse = 'none' | 'read' | 'guest';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How the route uses the browser's session; see `SessionUse`. */
    session?: SessionUse;
  }
}

export const defaultSessionExpiry: SessionExpiry = {
  idleMs: 7 * 24 * 3600_000,
  absoluteMs: 30 * 24 * 3600_000,
};

/** `last_seen_at` is written at most this often per session (less when the idle expiry is short). */
const maxTouchEveryMs = 60_000;
/** How often each instance deletes rows that no longer work, and at most how many at a time. */
const cleanUpEveryMs = 10 * 60_000;
const cleanUpBatch = 10_000;

export interface SessionOptions {
  /** The BFF's database, shared by every instance: sessions live there. */
  readonly db: Database;
  readonly log: Logger;
  /** Set the cookie's `Secure` flag (behind HTTPS). Default false: the local app is plain HTTP. */
  readonly secure?: boolean;
  /** Default `defaultSessionExpiry` (7 days idle, 30 days in all). */
  readonly expiry?: Partial<SessionExpiry>;
}

/** The request's live session as the server stores it. */
export interface CurrentSession {
  /** SHA-256 of the cookie's id: the row's key. */
  readonly idHash: string;
  readonly session: Session;
  readonly accountId: string | undefined;
}

/** Who a new session is for. */
export interface SessionIdentity {
  readonly userId: string;
  readonly name: string;
  readonly guest: boolean;
  readonly account: { readonly id: string; readonly email: string } | undefined;
}

/**
 * The browser's session, kept server-side in the BFF's database and shared by every instance.
 * The cookie (`cads_session`: signed, HttpOnly, SameSite=Lax, Secure on request) holds only a
 * random 256-bit id; the table keys the session by the id's SHA-256.
 *
 * Guarantees:
 * - The user id always comes from the stored session, never from the client. A cookie that is
 *   unsigned, altered, of the earlier format, unknown, revoked or expired is no session: the
 *   browser is a new guest (on a `'guest'` route).
 * - Reading is one primary-key lookup per request (in the `onRequest` hook `install` adds), with
 *   no per-instance cache, so a revocation or an expiry takes effect on every instance at the
 *   next request. `last_seen_at` is written at most once a minute per session (more often only
 *   when the idle expiry is under four minutes), so idle expiry is exact to within that interval.
 * - `rotate` and `signOut` revoke the request's session before the new id is handed out, in one
 *   transaction for `rotate`: a copy of the old cookie stops working.
 * - A live connection already open keeps running after its session is revoked; the next
 *   request or connection is refused.
 */
export interface Sessions {
  /**
   * Reads each request's session before its route's own hooks (so limits can key on the user),
   * as the route's `config.session` says; deletes long-dead rows every ten minutes until the app
   * closes. Install once, after `@fastify/cookie`.
   */
  install(app: HttpApp): void;
  /** The request's session; only on a `'guest'` route (which always has one by then). */
  of(request: FastifyRequest, reply: FastifyReply): Session;
  /** The request's session, or `undefined` when it has no live one (or the route uses `'none'`). */
  read(request: FastifyRequest): Session | undefined;
  /** The request's live session with its server-side keys, or `undefined`. */
  current(request: FastifyRequest): CurrentSession | undefined;
  /**
   * Replaces the request's session with a new one (a new id and cookie) for the identity
   * `identify` returns, in one transaction that first revokes the request's live session (and
   * tells `identify` what it was). If `identify` throws, nothing changes and the error goes on.
   */
  rotate(
    request: FastifyRequest,
    reply: FastifyReply,
    identify: (tx: Transaction, ended: RevokedSession | undefined) => Promise<SessionIdentity>,
  ): Promise<Session>;
  /** A new guest session for the browser (cookie set); the request's own is left as it is. */
  guest(request: FastifyRequest, reply: FastifyReply): Promise<Session>;
  /** Revokes the request's session, then makes the browser a new guest. */
  signOut(request: FastifyRequest, reply: FastifyReply): Promise<Session>;
}

export function createSessions(options: SessionOptions): Sessions {
  const { db, log } = options;
  const expiry: SessionExpiry = { ...defaultSessionExpiry, ...options.expiry };
  if (!(expiry.idleMs > 0 && expiry.absoluteMs > 0)) {
    throw new Error('session expiries must be positive milliseconds');
  }
  const touchEveryMs = Math.min(maxTouchEveryMs, expiry.idleMs / 4);
  const resolved = new WeakMap<FastifyRequest, CurrentSession>();

  async function load(request: FastifyRequest): Promise<CurrentSession | undefined> {
    const raw = request.cookies[sessionCookie];
    if (raw === undefined) return undefined;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null || !isSessionId(unsigned.value)) {
      return undefined;
    }
    const idHash = sessionIdHash(unsigned.value);
    const stored = await findSession(db, idHash, expiry, touchEveryMs);
    if (!stored) return undefined;
    if (stored.touchDue) await touchSession(db, idHash);
    return { idHash, session: sessionOf(stored), accountId: stored.accountId };
  }

  /** Hands the new session's id to the browser, and to the rest of this request. */
  function begin(
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    identity: SessionIdentity,
  ): Session {
    reply.setCookie(sessionCookie, id, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secure ?? false,
      path: '/',
      maxAge: Math.floor(expiry.absoluteMs / 1000),
    });
    const session = sessionOf({ ...identity, email: identity.account?.email });
    resolved.set(request, {
      idHash: sessionIdHash(id),
      session,
      accountId: identity.account?.id,
    });
    return session;
  }

  async function guest(request: FastifyRequest, reply: FastifyReply): Promise<Session> {
    const id = newSessionId();
    const identity = newGuest();
    await insertSession(db, { idHash: sessionIdHash(id), ...rowOf(identity) });
    return begin(request, reply, id, identity);
  }

  function sessionUse(request: FastifyRequest): SessionUse {
    const declared = request.routeOptions.config.session;
    if (declared !== undefined) return declared;
    if (!request.routeOptions.url?.startsWith('/api/')) return 'none';
    return request.headers.upgrade?.toLowerCase() === 'websocket' ? 'read' : 'guest';
  }

  async function cleanUp(): Promise<void> {
    let deleted: number;
    do deleted = await deleteIdleSessions(db, expiry, cleanUpBatch);
    while (deleted === cleanUpBatch);
  }

  return {
    install(app) {
      app.addHook('onRequest', async (request, reply) => {
        const use = sessionUse(request);
        if (use === 'none') return;
        const found = await load(request);
        if (found) resolved.set(request, found);
        else if (use === 'guest') await guest(request, reply);
      });
      const timer = setInterval(() => {
        cleanUp().catch((error: unknown) => log.warn({ err: error }, 'session clean-up failed'));
      }, cleanUpEveryMs);
      timer.unref();
      app.addHook('onClose', (_instance, done) => {
        clearInterval(timer);
        done();
      });
    },
    of(request) {
      const current = resolved.get(request);
      if (!current) {
        throw new Error(
          `${request.method} ${request.url}: the route's config.session is not 'guest'`,
        );
      }
      return current.session;
    },
    read: (request) => resolved.get(request)?.session,
    current: (request) => resolved.get(request),
    async rotate(request, reply, identify) {
      const previous = resolved.get(request);
      const id = newSessionId();
      const identity = await db.transaction(async (tx) => {
        const ended = previous && (await revokeSession(tx, previous.idHash, expiry));
        const next = await identify(tx, ended);
        await insertSession(tx, { idHash: sessionIdHash(id), ...rowOf(next) });
        return next;
      });
      return begin(request, reply, id, identity);
    },
    guest,
    async signOut(request, reply) {
      const current = resolved.get(request);
      if (current) await revokeSession(db, current.idHash, expiry);
      return guest(request, reply);
    },
  };
}

/** A new guest: a new user id, no name yet. */
export function newGuest(): SessionIdentity {
  return { userId: `u-${randomUUID()}`, name: 'Guest', guest: true, account: undefined };
}

function rowOf(identity: SessionIdentity) {
  return {
    userId: identity.userId,
    name: identity.name,
    guest: identity.guest,
    accountId: identity.account?.id,
  };
}

function sessionOf(stored: Pick<StoredSession, 'userId' | 'name' | 'guest' | 'email'>): Session {
  return {
    userId: stored.userId,
    name: stored.name,
    guest: stored.guest,
    ...(stored.email === undefined ? {} : { email: stored.email }),
  };
}
