import { foodSagaDeclaration } from '@cads/food-saga';
import type { SagaDeclaration } from '@cads/saga';

/**
 * Every saga of the repository: what `cads saga check` checks and `cads saga graph` draws
 * (docs/sagas/<name>.md). A new saga is one more entry here. The examples' sagas are loaded
 * when the examples are there (a checkout of the repository); the production image ships no
 * example, so there it is the food saga alone.
 */
export async function repositorySagas(): Promise<readonly SagaDeclaration[]> {
  const examples = await import('@cads/example-trip-booking').then(
    (trip) => [trip.tripSagaDeclaration],
    (error: unknown) => {
      if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return [];
      throw error;
    },
  );
  return [foodSagaDeclaration, ...examples];
}

/** The saga whose diagram the README and docs/saga-map.md show, between saga-graph markers. */
export const readmeSaga: string = foodSagaDeclaration.name;

/** The files that show `readmeSaga`'s diagram between saga-graph markers. */
export const diagramHosts: readonly string[] = ['README.md', 'docs/saga-map.md'];
