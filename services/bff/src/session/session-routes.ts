import { type HttpApp, httpProblem, ProblemDetailsSchema } from '@cads/http';
import { NameBody, Session, SignInBody, SignUpBody } from '../contracts/api.ts';
import type { LimitHooks } from '../http/limits.ts';
import type { Accounts } from './accounts.ts';
import type { Sessions } from './sessions.ts';

export interface SessionRouteOptions {
  readonly sessions: Sessions;
  readonly accounts: Accounts;
  readonly limits: Pick<LimitHooks, 'changeSession' | 'signIn' | 'signUp'>;
}

const Problem = ProblemDetailsSchema;
const wrongCredentials = 'The email or password is wrong.';

/** The browser's session and account: `/api/session`, `/api/account` (see `contracts/api.ts`). */
export function registerSessionRoutes(app: HttpApp, options: SessionRouteOptions): void {
  const { sessions, accounts, limits } = options;
  const tags = ['session'];

  app.get(
    '/api/session',
    {
      schema: {
        tags,
        summary: 'The browser’s session (a new guest if none)',
        description:
          'A browser without a live session (none, expired, revoked, or a cookie of an earlier ' +
          'format) gets a new guest session and its cookie.',
        response: { 200: Session },
      },
    },
    (request, reply) => sessions.of(request, reply),
  );

  app.put(
    '/api/session',
    {
      onRequest: limits.changeSession,
      schema: {
        tags,
        summary: 'Sets the user’s display name',
        description: 'Signed in, the name is the account’s (every session of it shows it).',
        body: NameBody,
        response: { 200: Session, 400: Problem, 429: Problem },
      },
    },
    (request, reply) => accounts.rename(request, reply, request.body.name.trim()),
  );

  app.post(
    '/api/account',
    {
      onRequest: limits.signUp,
      config: { session: 'read' },
      schema: {
        tags,
        summary: 'Creates an account and signs in to it',
        description:
          'A guest’s user id becomes the account’s, so the orders and notifications the guest ' +
          'had are the account’s. The session is replaced (new cookie, the old one revoked).',
        body: SignUpBody,
        response: {
          201: Session,
          400: { ...Problem, description: 'Invalid email, password or name; `detail` says which.' },
          409: { ...Problem, description: 'The email has an account already.' },
          429: Problem,
        },
      },
    },
    async (request, reply) => {
      const session = await accounts.signUp(request, reply, request.body);
      // The answer confirms that the email has an account, which a sign-up form cannot hide
      // without proving the email is the user's (a mail round trip this app does not have).
      // Sign-ups are rate limited per address, which keeps probing slow.
      if (!session) {
        throw httpProblem(
          'CADS_CONFLICT',
          'This email cannot be used for a new account. If it is yours, sign in.',
        );
      }
      return reply.code(201).send(session);
    },
  );

  app.post(
    '/api/session',
    {
      preHandler: limits.signIn,
      config: { session: 'read' },
      schema: {
        tags,
        summary: 'Signs in to an account',
        description:
          'The browser takes the account’s user id; what it did as a guest stays the guest’s. ' +
          'The session is replaced (new cookie, the old one revoked). A wrong password and an ' +
          'unknown email get the same answer, in about the same time.',
        body: SignInBody,
        response: {
          200: Session,
          400: Problem,
          401: { ...Problem, description: 'The email or password is wrong.' },
          429: { ...Problem, description: 'Too many attempts from the address or on the email.' },
        },
      },
    },
    async (request, reply) => {
      const session = await accounts.signIn(request, reply, request.body);
      if (!session) throw httpProblem('CADS_UNAUTHORIZED', wrongCredentials);
      return session;
    },
  );

  app.delete(
    '/api/session',
    {
      onRequest: limits.changeSession,
      config: { session: 'read' },
      schema: {
        tags,
        summary: 'Signs out: the session is revoked, the browser becomes a new guest',
        response: { 200: Session, 429: Problem },
      },
    },
    (request, reply) => sessions.signOut(request, reply),
  );

  app.delete(
    '/api/account/sessions',
    {
      onRequest: limits.changeSession,
      config: { session: 'read' },
      schema: {
        tags,
        summary: 'Signs the account out everywhere',
        description:
          'Revokes every session of the account, in every browser; this one becomes a new guest.',
        response: {
          200: Session,
          401: { ...Problem, description: 'The browser is not signed in to an account.' },
          429: Problem,
        },
      },
    },
    async (request, reply) => {
      const session = await accounts.signOutEverywhere(request, reply);
      if (!session) throw httpProblem('CADS_UNAUTHORIZED', 'Sign in first: this is a guest.');
      return session;
    },
  );
}
