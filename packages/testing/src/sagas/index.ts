export type { CrashableDatabase } from './crashable-database.ts';
export { crashableDatabase, SimulatedCrash } from './crashable-database.ts';
export type { ExternalEffect, SagaObservation, StepOutcome, StepOutcomes } from './invariants.ts';
export { sagaViolations } from './invariants.ts';
export type {
  KitService,
  PropertyCoverage,
  PropertySystem,
  SagaFixture,
  SagaPropertyOptions,
} from './saga-properties.ts';
export { checkSagaProperties, defaultSeed } from './saga-properties.ts';
export type { Choice, Fault, Scenario, ScenarioShape } from './scenario.ts';
export { faults, scenarios } from './scenario.ts';
export type { Queued, Rejected, ScriptedBroker, Settlement } from './scripted-broker.ts';
export { createScriptedBroker } from './scripted-broker.ts';
