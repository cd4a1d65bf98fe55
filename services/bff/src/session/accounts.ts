import type { Database } from '@cads/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Session, SignInBody, SignUpBody } from '../contracts/api.ts';
import {
  findAccountByEmail,
  insertAccount,
  normaliseEmail,
  renameAccount,
  replacePasswordHash,
} from './account-store.ts';
import {
  defaultScryptParams,
  hashPassword,
  needsRehash,
  type ScryptParams,
  verifyPassword,
} from './password-hash.ts';
import { nameSession, revokeAccountSessions } from './session-store.ts';
import { newGuest, type Sessions } from './sessions.ts';

export interface AccountOptions {
  readonly db: Database;
  readonly sessions: Sessions;
  /** Of new password hashes; older ones are rehashed at sign-in. Default `defaultScryptParams`. */
  readonly hashParams?: ScryptParams;
  /** How passwords are hashed and checked. Default: scrypt (`password-hash.ts`). */
  readonly passwords?: PasswordHashing;
}

/** Hashes a password with `params`, and checks one against a stored hash (its own parameters). */
export interface PasswordHashing {
  hash(password: string, params: ScryptParams): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

const scryptHashing: PasswordHashing = { hash: hashPassword, verify: verifyPassword };

/**
 * Accounts: an email and a password owning one user id, and the sessions signed in to them.
 *
 * Guarantees:
 * - A guest who signs up keeps their user id: what other services keep under it (orders,
 *   notifications) is the account's from then on, nothing is copied. Signing in switches the
 *   browser to the account's user id; what the guest had before stays the guest's.
 * - Sign-up and sign-in rotate the session: a new id, the old one revoked, in one transaction.
 * - Sign-in tells a wrong password from an unknown email by nothing, answer or time: an unknown
 *   email is hashed against a dummy hash of the same parameters.
 */
export interface Accounts {
  /** Creates the account and signs the browser in; `undefined` when the email has one. */
  signUp(
    request: FastifyRequest,
    reply: FastifyReply,
    body: SignUpBody,
  ): Promise<Session | undefined>;
  /** Signs the browser in; `undefined` when the email or the password is wrong. */
  signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    body: SignInBody,
  ): Promise<Session | undefined>;
  /**
   * Revokes every session of the request's account (other browsers included) and makes this
   * browser a new guest; `undefined` (nothing revoked) when the request is not signed in.
   */
  signOutEverywhere(request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined>;
  /** The display name: on the account when signed in (every session shows it), else the guest's. */
  rename(request: FastifyRequest, reply: FastifyReply, name: string): Promise<Session>;
}

/** Thrown inside the sign-up transaction so the revocation it made is rolled back. */
class EmailTaken extends Error {
  override readonly name = 'EmailTaken';
}

export function createAccounts(options: AccountOptions): Accounts {
  const { db, sessions } = options;
  const params = options.hashParams ?? defaultScryptParams;
  const passwords = options.passwords ?? scryptHashing;
  // A hash no password matches, made once at start, to spend on an unknown email what a real
  // one costs. A failure to make it surfaces at the first sign-in that needs it.
  const dummyHash = passwords.hash(randomBytes(32).toString('base64url'), params);
  dummyHash.catch(() => undefined);

  return {
    async signUp(request, reply, body) {
      const email = normaliseEmail(body.email);
      const name = body.name.trim();
      const passwordHash = await passwords.hash(body.password, params);
      try {
        return await sessions.rotate(request, reply, async (tx, ended) => {
          // Only a guest's user id passes to the account; an account's stays with it. Revoking
          // first locks the guest's session, so two sign-ups cannot both take its user id.
          const userId = ended && ended.accountId === undefined ? ended.userId : newGuest().userId;
          const accountId = `a-${randomUUID()}`;
          if (!(await insertAccount(tx, { accountId, email, passwordHash, userId, name }))) {
            throw new EmailTaken(email);
          }
          return { userId, name, guest: false, account: { id: accountId, email } };
        });
      } catch (error) {
        if (error instanceof EmailTaken) return undefined;
        throw error;
      }
    },

    async signIn(request, reply, body) {
      const account = await findAccountByEmail(db, normaliseEmail(body.email));
      const matches = await passwords.verify(
        body.password,
        account?.passwordHash ?? (await dummyHash),
      );
      if (!account || !matches) return undefined;
      if (needsRehash(account.passwordHash, params)) {
        await replacePasswordHash(
          db,
          account.accountId,
          await passwords.hash(body.password, params),
        );
      }
      return sessions.rotate(request, reply, () =>
        Promise.resolve({
          userId: account.userId,
          name: account.name,
          guest: false,
          account: { id: account.accountId, email: account.email },
        }),
      );
    },

    async signOutEverywhere(request, reply) {
      const accountId = sessions.current(request)?.accountId;
      if (accountId === undefined) return undefined;
      await revokeAccountSessions(db, accountId);
      return sessions.guest(request, reply);
    },

    async rename(request, reply, name) {
      const session = sessions.of(request, reply);
      const current = sessions.current(request);
      if (current?.accountId !== undefined) await renameAccount(db, current.accountId, name);
      else if (current) await nameSession(db, current.idHash, name);
      return { ...session, name, guest: false };
    },
  };
}
