export { bffService, liveEventTypes } from './app.ts';
export type { BffInstance, BffOptions } from './app.ts';
export { LiveHub } from './live/live-hub.ts';
