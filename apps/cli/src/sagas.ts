import { tripSagaDeclaration } from '@cads/example-trip-booking';
import { foodSagaDeclaration } from '@cads/food-saga';
import type { SagaDeclaration } from '@cads/saga';

/**
 * Every saga of the repository: what `cads saga check` checks and `cads saga graph` draws
 * (docs/sagas/<name>.md). A new saga is one more entry here.
 */
export const repositorySagas: readonly SagaDeclaration[] = [
  foodSagaDeclaration,
  tripSagaDeclaration,
];

/** The saga whose diagram the README and docs/saga-map.md show, between saga-graph markers. */
export const readmeSaga: string = foodSagaDeclaration.name;

/** The files that show `readmeSaga`'s diagram between saga-graph markers. */
export const diagramHosts: readonly string[] = ['README.md', 'docs/saga-map.md'];
