export type { Recorder, RunningService, Testbed } from './testbed.ts';
export { createTestbed, jsonClient } from './testbed.ts';
