export { bffService, liveEventTypes } from './app.ts';
export type { BffInstance, BffOptions } from './app.ts';
export type { BffLimits } from './http/limits.ts';
export { defaultLimits } from './http/limits.ts';
export { LiveHub } from './live/live-hub.ts';
