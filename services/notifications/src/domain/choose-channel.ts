import { type NotificationChannel, notificationChannels } from '../contracts/api.ts';

/**
 * The channel the mock provider "sends" on: uniform over email, sms and push given `random`
 * in [0, 1) (as `Math.random`). Out-of-range draws are clamped, so a faulty source still
 * yields a channel.
 */
export function chooseChannel(random: () => number): NotificationChannel {
  const last = notificationChannels.length - 1;
  const draw = Math.floor(random() * notificationChannels.length);
  const index = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), last) : 0;
  return notificationChannels[index] ?? 'email';
}
