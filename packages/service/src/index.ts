export * from './service.ts';
export * from './external-endpoint.ts';
export * from './saga-deadlines.ts';
export * from './saga-step.ts';
export * from './step-decisions.ts';
export * from './step-store.ts';
