export type {
  CompensationTypeOf,
  DeadlineDeclaration,
  EventDeclaration,
  EventTypeOf,
  ExpiredTypeOf,
  FailureDeclaration,
  FailureTypeOf,
  FieldOf,
  SagaDeclaration,
  ShownField,
  StepDeclaration,
  StepEntry,
  StepNameOf,
  StepsOf,
  SuccessTypeOf,
} from './declare.ts';
export { defineStep } from './declare.ts';
export type { EventRole, MapDeadline, MapStep, SagaEvent, SagaProblem } from './compose.ts';
export { composeSaga } from './compose.ts';
export type {
  SagaDescription,
  SagaProgress,
  SagaStatus,
  SagaVerdict,
  ShownValue,
  StepState,
  StepVerdict,
  TrackedEvent,
} from './verdict.ts';
export { eventOrder, progressOf, verdictOf } from './verdict.ts';
export { checkSaga, defineSaga, SagaMap, SagaMapError } from './saga-map.ts';
export { sagaGraph } from './graph.ts';
