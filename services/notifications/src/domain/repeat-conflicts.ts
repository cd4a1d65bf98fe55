import type { Notification, SendNotificationRequest } from '../contracts/api.ts';

const identityFields = ['orderId', 'userId', 'kind'] as const;

/**
 * The identity fields in which a repeated request (same `eventId`) contradicts the notification
 * stored first. One event belongs to one order, user and outcome, so any difference there is a
 * client bug; the text fields may differ (the first one wins).
 */
export function repeatConflicts(
  stored: Notification,
  repeat: SendNotificationRequest,
): (typeof identityFields)[number][] {
  return identityFields.filter((field) => stored[field] !== repeat[field]);
}
