import type {
  ClientConfig,
  LiveMessage,
  Menu,
  NotificationInbox,
  OrderAccepted,
  OrderHistory,
  OrderView,
  Session,
} from '@cads/bff/contracts';
import type { SagaDescription } from '@cads/saga/verdict';
import type { TimelineEntry } from './order-progress.ts';

/**
 * Checks of what the server sends, at the edge: a response that does not match the contract is
 * reported as such instead of breaking a screen later. They check what the page relies on and
 * tolerate extra fields.
 */

type Guard<T> = (value: unknown) => value is T;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isOptionalString = (value: unknown): boolean => value === undefined || isString(value);
/** A whole, non-negative quantity: an amount of cents, a duration in milliseconds. */
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isCents = isCount;
const isMilliseconds = isCount;

function hasFields(value: unknown, fields: Record<string, (field: unknown) => boolean>): boolean {
  return isRecord(value) && Object.entries(fields).every(([key, guard]) => guard(value[key]));
}

function arrayOf<T>(guard: Guard<T>): Guard<T[]> {
  return (value): value is T[] => Array.isArray(value) && value.every(guard);
}

export const isSession = (value: unknown): value is Session =>
  hasFields(value, {
    userId: isString,
    name: isString,
    guest: (guest) => typeof guest === 'boolean',
    email: isOptionalString,
  });

export const isClientConfig = (value: unknown): value is ClientConfig =>
  hasFields(value, {
    transport: (transport) => transport === 'sse' || transport === 'ws',
    slowNoticeMs: isMilliseconds,
    heartbeatMs: isMilliseconds,
  });

const isDish = (value: unknown): boolean =>
  hasFields(value, { id: isString, name: isString, priceCents: isCents });

export const isMenu = (value: unknown): value is Menu =>
  arrayOf((restaurant: unknown): restaurant is Menu[number] =>
    hasFields(restaurant, {
      id: isString,
      name: isString,
      phone: isString,
      address: isString,
      dishes: (dishes) => Array.isArray(dishes) && dishes.every(isDish),
    }),
  )(value);

export const isOrderAccepted = (value: unknown): value is OrderAccepted =>
  hasFields(value, { orderId: isString, userId: isString });

export const isTimelineEntry = (value: unknown): value is TimelineEntry =>
  hasFields(value, { id: isString, type: isString, time: isString, data: isRecord });

export const isOrderView = (value: unknown): value is OrderView =>
  hasFields(value, {
    orderId: isString,
    restaurantId: isString,
    cart: Array.isArray,
    priceCents: isCents,
    createdAt: isString,
    timeline: arrayOf(isTimelineEntry),
  });

export const isOrderHistory = (value: unknown): value is OrderHistory =>
  hasFields(value, {
    orders: arrayOf((order: unknown): order is OrderHistory['orders'][number] =>
      hasFields(order, {
        orderId: isString,
        restaurantId: isString,
        statusText: isString,
        priceCents: isCents,
        createdAt: isString,
      }),
    ),
  });

export const isNotificationInbox = (value: unknown): value is NotificationInbox =>
  arrayOf((notification: unknown): notification is NotificationInbox[number] =>
    hasFields(notification, {
      eventId: isString,
      orderId: isString,
      kind: isString,
      message: isString,
      channel: isString,
      createdAt: isString,
    }),
  )(value);

const isShownField = (value: unknown): boolean =>
  hasFields(value, {
    field: isString,
    label: isString,
    format: (format) => format === undefined || format === 'text' || format === 'cents',
  });

const isSagaStep = (value: unknown): boolean =>
  hasFields(value, {
    name: isString,
    label: isString,
    description: isOptionalString,
    trigger: isString,
    success: isString,
    failure: isString,
    reasonField: isString,
    compensation: isOptionalString,
    compensateOn: (names) => Array.isArray(names) && names.every(isString),
    shows: (shows) => Array.isArray(shows) && shows.every(isShownField),
  });

export const isSagaDescription = (value: unknown): value is SagaDescription =>
  hasFields(value, {
    name: isString,
    label: isString,
    description: isOptionalString,
    key: isString,
    start: (start) => hasFields(start, { type: isString, label: isString, producer: isString }),
    steps: (steps) => Array.isArray(steps) && steps.length > 0 && steps.every(isSagaStep),
    completion: isString,
    deadline: (deadline) =>
      deadline === undefined ||
      hasFields(deadline, {
        afterMs: (ms) => typeof ms === 'number' && Number.isInteger(ms) && ms > 0,
        type: isString,
        reasonField: isString,
        waitingOnField: isOptionalString,
      }),
  });

/** A live message from its JSON text, or `undefined` when it is not one. */
export function parseLiveMessage(text: string): LiveMessage | undefined {
  const value = parseJson(text);
  if (!isRecord(value)) return undefined;
  if (value.type === 'snapshot' && isOrderView(value.order)) {
    return { type: 'snapshot', order: value.order };
  }
  if (value.type === 'saga' && isTimelineEntry(value.event)) {
    return { type: 'saga', event: value.event };
  }
  if (value.type === 'error') {
    return {
      type: 'error',
      code: isString(value.code) ? value.code : 'UNKNOWN',
      detail: isString(value.detail) ? value.detail : 'The live stream reported an error.',
    };
  }
  return undefined;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
