import { Notification } from '@cads/notifications/contracts';
import { OrderAccepted, OrderHistory, OrderView, PlaceOrderBody } from '@cads/order/contracts';
import Type, { type Static } from 'typebox';

/**
 * HTTP contract of the BFF: the only surface the browser talks to.
 *
 * Every `/api` route runs in a **session** kept by the BFF in its database: the browser holds
 * only its random id, in a signed, HttpOnly cookie (`cads_session`, SameSite=Lax). The BFF
 * starts a guest session on the first request without a live one, for a new guest user. The
 * user id always comes from the session, never from anything the client sends, and a user
 * reads and streams only their own orders: another user's order answers 404, like a missing
 * one. Errors are `application/problem+json` with a stable `code` and a `detail` that says
 * what to fix (400 for invalid bodies, naming the field).
 *
 * A session ends when it is revoked (sign-out, sign-in, sign-up, sign-out everywhere), unused
 * for the idle expiry (7 days by default) or older than the absolute one (30 days); a browser
 * whose session ended is a new guest.
 *
 * - `GET /api/session` → `Session` (creating a guest session when there is none).
 * - `PUT /api/session` `{name}` → `Session`: the display name (on the account when signed in).
 * - `POST /api/account` `SignUpBody` → 201 `Session`: creates an account and signs in to it. A
 *   guest's user id becomes the account's, with its orders and notifications. 409 when the
 *   email has an account.
 * - `POST /api/session` `SignInBody` → `Session`: signs in; the browser takes the account's
 *   user id (what it did as a guest stays the guest's). 401 when the email or password is wrong.
 * - `DELETE /api/session` → `Session`: signs out (the session is revoked); a new guest.
 * - `DELETE /api/account/sessions` → `Session`: revokes every session of the account, on every
 *   browser; this one becomes a new guest. 401 when not signed in.
 * - `GET /api/config` → `ClientConfig`: runtime settings of the page (no rebuild to change).
 * - `GET /api/menu` → `Menu`: restaurants and dishes with prices in cents.
 * - `POST /api/orders` `PlaceOrderBody` → 202 `OrderAccepted`; 400 with the reason.
 * - `GET /api/orders` → `OrderHistory` (newest first), `GET /api/orders/:id` → `OrderView`.
 * - `GET /api/notifications` → the user's notifications, newest first.
 * - `GET /api/saga` → `SagaDescription`: the saga's map as plain JSON (its steps, their events,
 *   labels and shown fields), for a client that draws any saga. Public: no session is read or
 *   created; cacheable (`Cache-Control: public`, an `ETag` answered 304 on `If-None-Match`).
 * - Live progress of one order: `GET /api/orders/:id/events` (SSE) and
 *   `GET /api/orders/:id/ws` (WebSocket); see `live.ts`.
 */
export const sessionCookie = 'cads_session';

export const Session = Type.Object(
  {
    userId: Type.String(),
    name: Type.String(),
    /** True until the user gives a name or signs in. */
    guest: Type.Boolean(),
    /** The account's email, when the session is signed in to one. */
    email: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Session = Static<typeof Session>;

export const maxNameLength = 40;
export const maxEmailLength = 254;
export const minPasswordLength = 8;
export const maxPasswordLength = 256;

const DisplayName = Type.String({
  minLength: 1,
  maxLength: maxNameLength,
  pattern: '\\S',
  description: 'Display name; any text, shown escaped.',
});

const Email = Type.String({
  format: 'email',
  maxLength: maxEmailLength,
  description: 'Compared without case: stored trimmed and lower-cased.',
});

/** `PUT /api/session`. */
export const NameBody = Type.Object({ name: DisplayName }, { additionalProperties: false });
export type NameBody = Static<typeof NameBody>;

/** `POST /api/account`: a new account. */
export const SignUpBody = Type.Object(
  {
    email: Email,
    password: Type.String({
      minLength: minPasswordLength,
      maxLength: maxPasswordLength,
      description: `${minPasswordLength} to ${maxPasswordLength} characters.`,
    }),
    name: DisplayName,
  },
  { additionalProperties: false },
);
export type SignUpBody = Static<typeof SignUpBody>;

/** `POST /api/session`: sign in to an account. */
export const SignInBody = Type.Object(
  {
    email: Email,
    // Any length an account may have had: the sign-up rules may change.
    password: Type.String({ minLength: 1, maxLength: maxPasswordLength }),
  },
  { additionalProperties: false },
);
export type SignInBody = Static<typeof SignInBody>;

export const liveTransports = ['sse', 'ws'] as const;
export type LiveTransport = (typeof liveTransports)[number];

export const ClientConfig = Type.Object(
  {
    /** Which live transport the page uses (`FRONT_CONNECTION_TYPE`); `?transport=` overrides. */
    transport: Type.Enum(liveTransports),
    /** After this long without a final state the page says the user may leave. */
    slowNoticeMs: Type.Integer({ minimum: 0 }),
    /** The BFF sends a heartbeat at least this often on every live connection. */
    heartbeatMs: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type ClientConfig = Static<typeof ClientConfig>;

export const MenuDish = Type.Object({
  id: Type.String(),
  name: Type.String(),
  priceCents: Type.Integer({ minimum: 0 }),
});
export const MenuRestaurant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  phone: Type.String(),
  address: Type.String(),
  dishes: Type.Array(MenuDish),
});
export const Menu = Type.Array(MenuRestaurant);
export type Menu = Static<typeof Menu>;
export type MenuRestaurant = Static<typeof MenuRestaurant>;

export const NotificationInbox = Type.Array(Notification);
export type NotificationInbox = Static<typeof NotificationInbox>;

const EventType = Type.String({ minLength: 1, description: 'An event type of the saga.' });

export const SagaStepDescription = Type.Object({
  name: Type.String({ minLength: 1 }),
  label: Type.String({ description: 'A short human name, e.g. for a stepper.' }),
  description: Type.Optional(Type.String()),
  trigger: Type.String({ description: 'The event that starts the step.' }),
  success: EventType,
  failure: EventType,
  reasonField: Type.String({ description: 'The field of the failure event holding why.' }),
  compensation: Type.Optional(EventType),
  compensateOn: Type.Array(EventType, {
    description: 'The failures (and the deadline’s event) after which the step undoes its success.',
  }),
  shows: Type.Array(
    Type.Object({
      field: Type.String({ description: 'A field of the success event.' }),
      label: Type.String(),
      format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('cents')])),
    }),
    { description: 'Fields of the success event worth showing, in order.' },
  ),
});

/**
 * The saga's map as clients draw it (`SagaMap.describe()` of `@cads/saga`): a web page decides
 * each step's state from it exactly as the order service does (`verdictOf` on the same JSON).
 */
export const SagaDescription = Type.Object({
  name: Type.String(),
  label: Type.String(),
  description: Type.Optional(Type.String()),
  key: Type.String({ description: 'The data field every event carries: one saga’s id.' }),
  start: Type.Object({ type: EventType, label: Type.String(), producer: Type.String() }),
  steps: Type.Array(SagaStepDescription, { description: 'In saga order.' }),
  completion: Type.String({ description: 'The event that completes the saga.' }),
  deadline: Type.Optional(
    Type.Object(
      {
        afterMs: Type.Integer({ minimum: 1, description: 'The time a saga has to end.' }),
        type: EventType,
        reasonField: Type.String({ description: 'The field of the event holding why.' }),
        waitingOnField: Type.Optional(
          Type.String({ description: 'The field of the event naming the step waited on.' }),
        ),
      },
      {
        description:
          'When a saga that has not ended is failed: the event its tracker emits then, which every step that succeeded undoes.',
      },
    ),
  ),
});
export type SagaDescription = Static<typeof SagaDescription>;

export { OrderAccepted, OrderHistory, OrderView, PlaceOrderBody };
