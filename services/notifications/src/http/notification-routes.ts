import { type HttpApp, httpProblem, ProblemDetailsSchema } from '@cads/http';
import type { Queryable } from '@cads/storage';
import {
  defaultListLimit,
  Notification,
  NotificationList,
  notificationsPath,
  OrderNotificationsParams,
  SendNotificationRequest,
  UserNotificationsQuery,
} from '../contracts/api.ts';
import { chooseChannel } from '../domain/choose-channel.ts';
import { repeatConflicts } from '../domain/repeat-conflicts.ts';
import {
  listOrderNotifications,
  listUserNotifications,
  storeNotificationOnce,
} from '../store/notifications-store.ts';

export interface NotificationRoutesDependencies {
  readonly db: Queryable;
  /** In [0, 1), as `Math.random`: picks the channel. */
  readonly random: () => number;
  readonly now: () => Date;
}

const tags = ['notifications'];

/**
 * Registers the notification routes (see the contract in `contracts/api.ts`). Answers are JSON
 * only and carry `x-content-type-options: nosniff`: the stored text is user-influenced and is
 * returned verbatim, so no browser may sniff it into HTML; clients must escape it to display it.
 */
export function registerNotificationRoutes(
  app: HttpApp,
  { db, random, now }: NotificationRoutesDependencies,
): void {
  app.post(
    notificationsPath,
    {
      schema: {
        tags,
        summary: 'Send (store) a notification, once per event',
        body: SendNotificationRequest,
        response: {
          200: Notification,
          201: Notification,
          400: ProblemDetailsSchema,
          409: ProblemDetailsSchema,
        },
      },
    },
    async (request, reply) => {
      const { notification, created } = await storeNotificationOnce(db, {
        ...request.body,
        channel: chooseChannel(random),
        createdAt: now(),
      });
      if (!created) {
        const conflicts = repeatConflicts(notification, request.body);
        if (conflicts.length > 0) {
          throw httpProblem(
            'CADS_CONFLICT',
            `Event ${notification.eventId} was already notified with another ${conflicts.join(', ')}.`,
            { errors: conflicts.map((field) => ({ field: `body/${field}`, reason: 'differs' })) },
          );
        }
      }
      return reply
        .code(created ? 201 : 200)
        .header('x-content-type-options', 'nosniff')
        .send(notification);
    },
  );

  app.get(
    `${notificationsPath}/:orderId`,
    {
      schema: {
        tags,
        summary: "An order's notifications, oldest first",
        params: OrderNotificationsParams,
        response: { 200: NotificationList, 400: ProblemDetailsSchema, 404: ProblemDetailsSchema },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const notifications = await listOrderNotifications(db, orderId);
      if (notifications.length === 0) {
        throw httpProblem('CADS_NOT_FOUND', `Order ${orderId} has no notifications.`);
      }
      return reply.header('x-content-type-options', 'nosniff').send(notifications);
    },
  );

  app.get(
    notificationsPath,
    {
      schema: {
        tags,
        summary: "A user's notifications, newest first",
        querystring: UserNotificationsQuery,
        response: { 200: NotificationList, 400: ProblemDetailsSchema },
      },
    },
    async (request, reply) => {
      const { userId, limit = defaultListLimit } = request.query;
      const notifications = await listUserNotifications(db, userId, limit);
      return reply.header('x-content-type-options', 'nosniff').send(notifications);
    },
  );
}
