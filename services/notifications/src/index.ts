export type { NotificationsServiceOptions } from './app.ts';
export { notificationsService } from './app.ts';
