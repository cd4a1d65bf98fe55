import fastifyCookie from '@fastify/cookie';
import { createHttpApp, type HttpApp } from '@cads/http';
import { silentLogger } from '@cads/messaging';
import { sleep } from '@cads/messaging/testing';
import { type Database, loadMigrations, migrate } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Session, sessionCookie } from '../contracts/api.ts';
import { type BffLimits, defaultLimits, installLimits } from '../http/limits.ts';
import { createAccounts, type PasswordHashing } from './accounts.ts';
import {
  defaultScryptParams,
  hashPassword,
  parametersOf,
  type ScryptParams,
  verifyPassword,
} from './password-hash.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { deleteIdleSessions, type SessionExpiry } from './session-store.ts';
import { createSessions } from './sessions.ts';

const secret = 'a-session-secret-for-these-tests-only';
/** Cheap hashes: these tests are about sessions, not the hash's cost. */
const fast: ScryptParams = { cost: 2 ** 10, blockSize: 8, parallelization: 1, keyLength: 32 };

let host: PgliteHost;
let db: Database;
const apps: HttpApp[] = [];

beforeAll(async () => {
  host = await openPglite();
  db = await host.database('bff');
  await migrate(db, 'bff', await loadMigrations(new URL('../../migrations/', import.meta.url)));
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await host?.close();
});

interface AppOptions {
  readonly expiry?: Partial<SessionExpiry>;
  readonly limits?: Partial<BffLimits>;
  readonly hashParams?: ScryptParams;
  readonly passwords?: PasswordHashing;
}

/** The BFF's session part alone: cookie, sessions, limits and the session routes. */
async function sessionApp(options: AppOptions = {}): Promise<HttpApp> {
  const app = await createHttpApp({
    service: 'bff-sessions',
    version: '0.0.0',
    logger: { level: 'silent' },
  });
  await app.register(fastifyCookie, { secret });
  const sessions = createSessions({
    db,
    log: silentLogger,
    ...(options.expiry ? { expiry: options.expiry } : {}),
  });
  sessions.install(app);
  const accounts = createAccounts({
    db,
    sessions,
    hashParams: options.hashParams ?? fast,
    ...(options.passwords ? { passwords: options.passwords } : {}),
  });
  const limits = await installLimits(app, { ...defaultLimits, ...options.limits }, sessions);
  registerSessionRoutes(app, { sessions, accounts, limits });
  await app.ready();
  apps.push(app);
  return app;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, unknown>;
  /** The `Set-Cookie` of the session, if the answer set one. */
  readonly setCookie: string | undefined;
}

/** A browser: one cookie jar, one address. */
function browser(app: HttpApp, remoteAddress = '127.0.0.1') {
  let cookie = '';
  const send = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, body?: object) => {
    const response = await app.inject({
      method,
      url,
      remoteAddress,
      headers: cookie ? { cookie } : {},
      ...(body === undefined ? {} : { payload: body }),
    });
    const setCookie = [response.headers['set-cookie'] ?? []]
      .flat()
      .find((value) => value.startsWith(`${sessionCookie}=`));
    if (setCookie) cookie = setCookie.split(';')[0] ?? '';
    const answer: Answer = {
      status: response.statusCode,
      body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
      headers: response.headers,
      setCookie,
    };
    return answer;
  };
  return {
    send,
    get cookie() {
      return cookie;
    },
    set cookie(value: string) {
      cookie = value;
    },
    async session(): Promise<Session> {
      const answer = await send('GET', '/api/session');
      expect(answer.status).toBe(200);
      return answer.body as Session;
    },
    signUp: (email: string, password: string, name = 'Ana') =>
      send('POST', '/api/account', { email, password, name }),
    signIn: (email: string, password: string) => send('POST', '/api/session', { email, password }),
  };
}

const newEmail = () => `user-${randomUUID()}@example.org`;
const password = 'a long enough password';

describe('server-side sessions', () => {
  it('a guest gets a signed random id in an HttpOnly, SameSite=Lax cookie; the table keeps only its SHA-256', async () => {
    const app = await sessionApp();
    const ana = browser(app);
    const first = await ana.send('GET', '/api/session');
    expect(first.body).toEqual({
      userId: expect.stringMatching(/^u-/) as unknown,
      name: 'Guest',
      guest: true,
    });
    expect(first.setCookie).toMatch(/HttpOnly/i);
    expect(first.setCookie).toMatch(/SameSite=Lax/i);
    expect(first.setCookie).toMatch(/Path=\//);
    expect(first.setCookie).toMatch(/Max-Age=2592000/);
    const unsigned = app.unsignCookie(
      decodeURIComponent(ana.cookie.slice(sessionCookie.length + 1)),
    );
    expect(unsigned.valid).toBe(true);
    const id = unsigned.value ?? '';
    expect(id).toMatch(/^[\w-]{43}$/);
    const hash = createHash('sha256').update(id).digest('base64url');
    const { rows } = await db.query<{ id_hash: string; user_id: string }>(
      'select id_hash, user_id from bff_sessions where id_hash in ($1, $2)',
      [id, hash],
    );
    expect(rows).toEqual([{ id_hash: hash, user_id: first.body.userId }]);

    // The same browser again: the same session, no new cookie.
    const again = await ana.send('GET', '/api/session');
    expect(again.body.userId).toBe(first.body.userId);
    expect(again.setCookie).toBeUndefined();
  });

  it('a cookie of the earlier format, or with a forged signature, is no session: a new guest', async () => {
    const app = await sessionApp();
    const victim = await browser(app).session();
    const earlier = Buffer.from(JSON.stringify({ u: victim.userId, n: 'Ana', g: false })).toString(
      'base64url',
    );
    for (const value of [app.signCookie(earlier), `${earlier}.AAAA`, 'garbage']) {
      const mallory = browser(app);
      mallory.cookie = `${sessionCookie}=${encodeURIComponent(value)}`;
      const session = await mallory.session();
      expect(session.userId).not.toBe(victim.userId);
      expect(session.guest).toBe(true);
    }
  });

  it('sign-up keeps the guest’s user id and rotates the session: the old cookie is a new guest', async () => {
    const app = await sessionApp();
    const ana = browser(app);
    const guest = await ana.session();
    const guestCookie = ana.cookie;
    const email = newEmail();
    const signedUp = await ana.signUp(`  ${email.toUpperCase()} `.trim(), password, ' Ana ');
    expect(signedUp.status).toBe(201);
    expect(signedUp.body).toEqual({ userId: guest.userId, name: 'Ana', guest: false, email });
    expect(ana.cookie).not.toBe(guestCookie);
    expect(await ana.session()).toEqual(signedUp.body);

    const copy = browser(app);
    copy.cookie = guestCookie;
    const stale = await copy.session();
    expect(stale.userId).not.toBe(guest.userId);
    expect(stale.guest).toBe(true);
  });

  it('sign-up of an email that has an account: 409, the same words whatever the case, the session kept', async () => {
    const app = await sessionApp();
    const email = newEmail();
    expect((await browser(app).signUp(email, password)).status).toBe(201);
    const bob = browser(app);
    const guest = await bob.session();
    const cookie = bob.cookie;
    const taken = await bob.signUp(email.toUpperCase(), 'another password');
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toBe(
      'This email cannot be used for a new account. If it is yours, sign in.',
    );
    expect(bob.cookie).toBe(cookie);
    expect(await bob.session()).toEqual(guest);
  });

  it('sign-in: a wrong password and an unknown email get the same 401, for the same work', async () => {
    // What must not tell the two apart is the work done: each checks the password against a
    // hash of the same parameters (an unknown email against a dummy made at start), so each
    // costs one hash of the same cost. Counted here rather than timed: timing flakes on a
    // busy machine, the count does not.
    const verified: string[] = [];
    const counting: PasswordHashing = {
      hash: hashPassword,
      async verify(candidate, stored) {
        verified.push(stored.split('$').slice(0, 2).join('$'));
        return verifyPassword(candidate, stored);
      },
    };
    const app = await sessionApp({ hashParams: defaultScryptParams, passwords: counting });
    const email = newEmail();
    expect((await browser(app).signUp(email, password)).status).toBe(201);
    const wrong = await browser(app).signIn(email, 'not the password');
    const unknown = await browser(app).signIn(newEmail(), 'not the password');
    for (const answer of [wrong, unknown]) {
      expect(answer.status).toBe(401);
      expect(answer.setCookie).toBeUndefined();
    }
    const { instance: _a, ...wrongBody } = wrong.body;
    const { instance: _b, ...unknownBody } = unknown.body;
    expect(unknownBody).toEqual(wrongBody);
    expect(wrongBody.detail).toBe('The email or password is wrong.');
    // One check each, against hashes of the same algorithm and parameters.
    expect(verified).toHaveLength(2);
    expect(verified[1]).toBe(verified[0]);
    expect(verified[0]).toBe('scrypt$ln=15,r=8,p=1');
  });

  it('sign-in switches the browser to the account’s user id and rotates the session', async () => {
    const app = await sessionApp();
    const email = newEmail();
    const owner = (await browser(app).signUp(email, password, 'Cleo')).body as Session;
    const laptop = browser(app);
    const guest = await laptop.session();
    const guestCookie = laptop.cookie;
    const signedIn = await laptop.signIn(email.toUpperCase(), password);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toEqual({ userId: owner.userId, name: 'Cleo', guest: false, email });
    expect(laptop.cookie).not.toBe(guestCookie);
    expect((await laptop.session()).userId).toBe(owner.userId);
    // The guest the laptop was is over: its cookie is a new guest, not the account.
    const copy = browser(app);
    copy.cookie = guestCookie;
    const stale = await copy.session();
    expect([guest.userId, owner.userId]).not.toContain(stale.userId);
  });

  it('sign-out revokes the session: a copy of the cookie is a new guest', async () => {
    const app = await sessionApp();
    const ana = browser(app);
    const account = (await ana.signUp(newEmail(), password)).body as Session;
    const copied = ana.cookie;
    const out = await ana.send('DELETE', '/api/session');
    expect(out.status).toBe(200);
    expect(out.body).toEqual({
      userId: expect.stringMatching(/^u-/) as unknown,
      name: 'Guest',
      guest: true,
    });
    expect(out.body.userId).not.toBe(account.userId);
    const thief = browser(app);
    thief.cookie = copied;
    const session = await thief.session();
    expect(session.userId).not.toBe(account.userId);
    expect(session.guest).toBe(true);
  });

  it('sign out everywhere revokes the account’s sessions in every browser; a guest gets 401', async () => {
    const app = await sessionApp();
    const email = newEmail();
    const [phone, laptop, other] = [browser(app), browser(app), browser(app)];
    const account = (await phone.signUp(email, password)).body as Session;
    await laptop.signIn(email, password);
    const otherAccount = (await other.signUp(newEmail(), password)).body as Session;
    expect((await laptop.session()).userId).toBe(account.userId);

    const everywhere = await phone.send('DELETE', '/api/account/sessions');
    expect(everywhere.status).toBe(200);
    expect(everywhere.body.guest).toBe(true);
    expect(everywhere.body.userId).not.toBe(account.userId);
    const laptopNow = await laptop.session();
    expect(laptopNow.userId).not.toBe(account.userId);
    expect(laptopNow.guest).toBe(true);
    // Another account's session is untouched.
    expect((await other.session()).userId).toBe(otherAccount.userId);

    const guest = await laptop.send('DELETE', '/api/account/sessions');
    expect(guest.status).toBe(401);
    expect(guest.body.code).toBe('CADS_UNAUTHORIZED');
  });

  it(
    'a session unused for the idle expiry ends; one in use lasts until the absolute expiry',
    { timeout: 60_000 },
    async () => {
      const app = await sessionApp({ expiry: { idleMs: 3_000, absoluteMs: 8_000 } });
      const busy = browser(app);
      const idle = browser(app);
      const started = Date.now();
      const busyUser = (await busy.session()).userId;
      const idleUser = (await idle.session()).userId;
      // Wide margins: a request may take a second on a busy machine, and must not look idle.
      while (Date.now() - started < 5_000) {
        expect((await busy.session()).userId).toBe(busyUser);
        await sleep(250);
      }
      expect((await idle.session()).userId).not.toBe(idleUser);

      let endedAfterMs = 0;
      while (endedAfterMs === 0) {
        if ((await busy.session()).userId !== busyUser) endedAfterMs = Date.now() - started;
        else await sleep(250);
        expect(Date.now() - started).toBeLessThan(20_000);
      }
      expect(endedAfterMs).toBeGreaterThanOrEqual(7_800);
    },
  );

  it('the clean-up deletes the rows of sessions that no longer work', async () => {
    const app = await sessionApp();
    const ana = browser(app);
    const { userId } = await ana.session();
    const stored = async () =>
      (await db.query('select 1 from bff_sessions where user_id = $1', [userId])).rows.length;
    expect(await stored()).toBe(1);
    await deleteIdleSessions(db, { idleMs: 60_000, absoluteMs: 60_000 }, 100);
    expect(await stored()).toBe(1);
    await sleep(300);
    await deleteIdleSessions(db, { idleMs: 200, absoluteMs: 60_000 }, 1_000_000);
    expect(await stored()).toBe(0);
  });

  it('PUT /api/session names a guest; signed in, the name is the account’s in every session', async () => {
    const app = await sessionApp();
    const guest = browser(app);
    await guest.session();
    const named = await guest.send('PUT', '/api/session', { name: ' Dee ' });
    expect(named.body).toMatchObject({ name: 'Dee', guest: false });
    expect(await guest.session()).toMatchObject({ name: 'Dee', guest: false });

    const email = newEmail();
    const [phone, laptop] = [browser(app), browser(app)];
    await phone.signUp(email, password, 'Eve');
    await laptop.signIn(email, password);
    const renamed = await phone.send('PUT', '/api/session', { name: 'Evelyn' });
    expect(renamed.body).toMatchObject({ name: 'Evelyn', email });
    expect(await laptop.session()).toMatchObject({ name: 'Evelyn', email });
  });

  it('limits sign-ins per address and per email, and sign-ups per address: 429 with Retry-After', async () => {
    const app = await sessionApp({
      limits: { signInsPerIpPerMinute: 3, signInsPerEmailPerMinute: 2, signUpsPerIpPerMinute: 2 },
    });
    const email = newEmail();
    await browser(app, '10.0.0.9').signUp(email, password);
    const tooMany = (answer: Answer, reason: RegExp) => {
      expect(answer.status).toBe(429);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      expect(answer.body.detail).toMatch(reason);
    };

    const a = browser(app, '10.0.0.1');
    expect((await a.signIn(email, 'wrong password')).status).toBe(401);
    expect((await a.signIn(email, 'wrong password')).status).toBe(401);
    tooMany(await a.signIn(email, password), /for this email/);
    // Another address, the same email: still refused, even with the right password.
    const b = browser(app, '10.0.0.2');
    tooMany(await b.signIn(email.toUpperCase(), password), /for this email/);
    expect((await b.signIn(newEmail(), password)).status).toBe(401);

    const c = browser(app, '10.0.0.3');
    for (let i = 0; i < 3; i++) expect((await c.signIn(newEmail(), password)).status).toBe(401);
    tooMany(await c.signIn(newEmail(), password), /from this address/);

    const d = browser(app, '10.0.0.4');
    expect((await d.signUp(newEmail(), password)).status).toBe(201);
    expect((await d.signUp(email, password)).status).toBe(409);
    tooMany(await d.signUp(newEmail(), password), /sign-ups from this address/);
  });

  it('answers 400 with the reason for an invalid email, a short or long password, no name', async () => {
    const app = await sessionApp({ limits: { signUpsPerIpPerMinute: 100 } });
    const ana = browser(app);
    for (const [body, field, reason] of [
      [{ email: 'not-an-email', password, name: 'Ana' }, 'body/email', /format "email"/],
      [{ email: `${'a'.repeat(250)}@x.org`, password, name: 'Ana' }, 'body/email', /254/],
      [{ email: newEmail(), password: 'short', name: 'Ana' }, 'body/password', /fewer than 8/],
      [{ email: newEmail(), password: 'p'.repeat(257), name: 'Ana' }, 'body/password', /256/],
      [{ email: newEmail(), password, name: '  ' }, 'body/name', /pattern/],
      [{ email: newEmail(), password }, 'body/name', /required/],
    ] as const) {
      const answer = await ana.send('POST', '/api/account', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.errors).toEqual([
        { field, reason: expect.stringMatching(reason) as unknown },
      ]);
      expect(answer.body.detail).toMatch(field);
    }
    const badSignIn = await ana.send('POST', '/api/session', { email: 'nobody', password });
    expect(badSignIn.status).toBe(400);
    expect(badSignIn.body.detail).toMatch(/body\/email/);
  });

  it('a password hashed with older parameters still signs in, and is rehashed with the current ones', async () => {
    const email = newEmail();
    const old = await sessionApp({ hashParams: fast });
    expect((await browser(old).signUp(email, password)).status).toBe(201);
    const current = await sessionApp({
      hashParams: { ...fast, cost: 2 ** 11 },
    });
    const hashOf = async () =>
      (
        await db.query<{ password_hash: string }>(
          'select password_hash from bff_accounts where email = $1',
          [email],
        )
      ).rows[0]!.password_hash;
    expect(parametersOf(await hashOf())?.cost).toBe(2 ** 10);
    expect((await browser(current).signIn(email, password)).status).toBe(200);
    expect(parametersOf(await hashOf())?.cost).toBe(2 ** 11);
    expect((await browser(current).signIn(email, password)).status).toBe(200);
  });
});
