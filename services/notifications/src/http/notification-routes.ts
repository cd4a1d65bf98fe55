import {
  type HttpApp,
  httpProblem,
  ProblemDetailsSchema,
  type ServiceTokenCheck,
} from '@cads/http';
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
  /** Verifies the callers' service tokens; a token for a user limits reads to that user. */
  readonly callers: ServiceTokenCheck;
}

const tags = ['notifications'];

/**
 * Registers the notification routes (see the contract in `contracts/api.ts`). Answers are JSON
 * only and carry `x-content-type-options: nosniff`: the stored text is user-influenced and is
 * returned verbatim, so no browser may sniff it into HTML; clients must escape it to display it.
 */
export function registerNotificationRoutes(
  app: HttpApp,
  { db, random, now, callers }: NotificationRoutesDependencies,
): void {
  app.post(
    notificationsPath,
    {
      onRequest: callers.onRequest,
      schema: {
        tags,
        summary: 'Send (store) a notification, once per event',
        operationId: 'sendNotification',
        security: [{ serviceToken: [] }],
        body: SendNotificationRequest,
        response: {
          200: Notification,
          201: Notification,
          400: ProblemDetailsSchema,
          401: ProblemDetailsSchema,
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
      onRequest: callers.onRequest,
      schema: {
        tags,
        summary: "An order's notifications, oldest first",
        operationId: 'listOrderNotifications',
        security: [{ serviceToken: [] }],
        params: OrderNotificationsParams,
        response: {
          200: NotificationList,
          400: ProblemDetailsSchema,
          401: ProblemDetailsSchema,
          404: ProblemDetailsSchema,
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const viewer = callers.callerOf(request).userId;
      const notifications = (await listOrderNotifications(db, orderId)).filter(
        (notification) => viewer === undefined || notification.userId === viewer,
      );
      // Another user's order answers as a missing one, so order ids cannot be probed.
      if (notifications.length === 0) {
        throw httpProblem('CADS_NOT_FOUND', `Order ${orderId} has no notifications.`);
      }
      return reply.header('x-content-type-options', 'nosniff').send(notifications);
    },
  );

  app.get(
    notificationsPath,
    {
      onRequest: callers.onRequest,
      schema: {
        tags,
        summary: "A user's notifications, newest first",
        operationId: 'listUserNotifications',
        security: [{ serviceToken: [] }],
        querystring: UserNotificationsQuery,
        response: {
          200: NotificationList,
          400: ProblemDetailsSchema,
          401: ProblemDetailsSchema,
          403: ProblemDetailsSchema,
        },
      },
    },
    async (request, reply) => {
      const { userId, limit = defaultListLimit } = request.query;
      const viewer = callers.callerOf(request).userId;
      if (viewer !== undefined && viewer !== userId) {
        throw httpProblem('CADS_FORBIDDEN', 'Only your own notifications can be listed.');
      }
      const notifications = await listUserNotifications(db, userId, limit);
      return reply.header('x-content-type-options', 'nosniff').send(notifications);
    },
  );
}
