import { type Queryable, sql } from '@cads/storage';
import type {
  Notification,
  NotificationChannel,
  NotificationKind,
  SendNotificationRequest,
} from '../contracts/api.ts';

interface NotificationRow {
  event_id: string;
  order_id: string;
  user_id: string;
  kind: NotificationKind;
  message: string;
  receipt_id: string | null;
  reason: string | null;
  channel: NotificationChannel;
  // Both adapters parse timestamptz to Date; a string is accepted should one not.
  created_at: Date | string;
}

const columns = sql.raw(
  'event_id, order_id, user_id, kind, message, receipt_id, reason, channel, created_at',
);

function toNotification(row: NotificationRow): Notification {
  return {
    eventId: row.event_id,
    orderId: row.order_id,
    userId: row.user_id,
    kind: row.kind,
    message: row.message,
    ...(row.receipt_id === null ? {} : { receiptId: row.receipt_id }),
    ...(row.reason === null ? {} : { reason: row.reason }),
    channel: row.channel,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export interface NewNotification extends SendNotificationRequest {
  readonly channel: NotificationChannel;
  readonly createdAt: Date;
}

/**
 * Stores `notification` unless one with its `eventId` exists. Returns the stored one and whether
 * this call stored it. Race-free: the unique key decides, so of concurrent calls for one event
 * exactly one inserts and every other one returns that row (a conflicting insert waits for the
 * winner's commit, then the select sees it).
 */
export async function storeNotificationOnce(
  db: Queryable,
  notification: NewNotification,
): Promise<{ notification: Notification; created: boolean }> {
  const { rows } = await db.query<NotificationRow>(sql`
    insert into notifications
      (event_id, order_id, user_id, kind, message, receipt_id, reason, channel, created_at)
    values (
      ${notification.eventId}, ${notification.orderId}, ${notification.userId},
      ${notification.kind}, ${notification.message}, ${notification.receiptId ?? null},
      ${notification.reason ?? null}, ${notification.channel}, ${notification.createdAt.toISOString()}
    )
    on conflict on constraint notifications_event_id_key do nothing
    returning ${columns}`);
  const inserted = rows[0];
  if (inserted) return { notification: toNotification(inserted), created: true };
  const existing = await findNotificationByEvent(db, notification.eventId);
  if (!existing) {
    throw new Error(`notification ${notification.eventId} conflicted but cannot be read back`);
  }
  return { notification: existing, created: false };
}

export async function findNotificationByEvent(
  db: Queryable,
  eventId: string,
): Promise<Notification | undefined> {
  const { rows } = await db.query<NotificationRow>(
    sql`select ${columns} from notifications where event_id = ${eventId}`,
  );
  const row = rows[0];
  return row ? toNotification(row) : undefined;
}

/** The order's notifications, oldest first (insertion order breaks ties of `createdAt`). */
export async function listOrderNotifications(
  db: Queryable,
  orderId: string,
): Promise<Notification[]> {
  const { rows } = await db.query<NotificationRow>(sql`
    select ${columns} from notifications
    where order_id = ${orderId}
    order by created_at, seq`);
  return rows.map(toNotification);
}

/** The user's `limit` newest notifications, newest first. */
export async function listUserNotifications(
  db: Queryable,
  userId: string,
  limit: number,
): Promise<Notification[]> {
  const { rows } = await db.query<NotificationRow>(sql`
    select ${columns} from notifications
    where user_id = ${userId}
    order by created_at desc, seq desc
    limit ${limit}`);
  return rows.map(toNotification);
}
