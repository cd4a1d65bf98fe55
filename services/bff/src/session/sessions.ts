import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type Session, sessionCookie } from '../contracts/api.ts';

export interface SessionOptions {
  /** Set the cookie's `Secure` flag (behind HTTPS). Default false: the local app is plain HTTP. */
  readonly secure?: boolean;
  /** Cookie lifetime. Default 30 days. */
  readonly maxAgeSeconds?: number;
}

/**
 * The browser's session: a signed cookie holding the user id and display name, so any BFF
 * instance that knows the secret reads it without shared state. The client cannot choose or
 * alter its user id (a changed cookie fails the signature and becomes a new guest), and
 * scripts cannot read it (HttpOnly).
 */
export interface Sessions {
  /** The request's session; a new guest session (cookie set on `reply`) when it has none. */
  of(request: FastifyRequest, reply: FastifyReply): Session;
  /** Replaces the session (sign-in with a name, or a new guest). */
  set(reply: FastifyReply, session: Session): void;
  /** A new guest session, set on `reply`. */
  guest(reply: FastifyReply): Session;
  /** The request's session, or `undefined` (nothing is set: for WebSocket upgrades). */
  read(request: FastifyRequest): Session | undefined;
}

interface CookieBody {
  readonly u: string;
  readonly n: string;
  readonly g: boolean;
}

export function createSessions(options: SessionOptions = {}): Sessions {
  const maxAge = options.maxAgeSeconds ?? 30 * 24 * 3600;

  function read(request: FastifyRequest): Session | undefined {
    const raw = request.cookies[sessionCookie];
    if (raw === undefined) return undefined;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null) return undefined;
    try {
      const body = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as unknown;
      if (!isCookieBody(body)) return undefined;
      return { userId: body.u, name: body.n, guest: body.g };
    } catch {
      return undefined;
    }
  }

  function set(reply: FastifyReply, session: Session): void {
    const body: CookieBody = { u: session.userId, n: session.name, g: session.guest };
    reply.setCookie(sessionCookie, Buffer.from(JSON.stringify(body)).toString('base64url'), {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secure ?? false,
      path: '/',
      maxAge,
    });
  }

  function guest(reply: FastifyReply): Session {
    const session: Session = { userId: `u-${randomUUID()}`, name: 'Guest', guest: true };
    set(reply, session);
    return session;
  }

  return {
    read,
    set,
    guest,
    of(request, reply) {
      return read(request) ?? guest(reply);
    },
  };
}

function isCookieBody(value: unknown): value is CookieBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Record<string, unknown>;
  return (
    typeof body.u === 'string' &&
    /^u-[0-9a-f-]{36}$/.test(body.u) &&
    typeof body.n === 'string' &&
    typeof body.g === 'boolean'
  );
}
