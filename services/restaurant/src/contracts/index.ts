export * from './events.ts';
export * from './step.ts';
