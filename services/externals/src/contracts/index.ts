export * from './menu.ts';
export * from './api.ts';
