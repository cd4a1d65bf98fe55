import type { ExternalSystemOptions, ServiceDefinition } from '@cads/service';
import {
  createTestbed,
  jsonClient,
  type Recorder,
  type RunningService,
  type Testbed,
} from '@cads/service/testing';
import { testCredentials, testInternalSecret } from '@cads/testing';
import { externalsService } from '../app.ts';

export interface StepTestbed {
  readonly testbed: Testbed;
  /** The saga step under test. */
  readonly step: RunningService;
  /** Records the events the step emits. */
  readonly events: Recorder;
  /** The externals' admin API (config, ledger, inspection). */
  readonly admin: ReturnType<typeof jsonClient>;
  close(): Promise<void>;
}

/**
 * One saga step (restaurant, rider or payment) against a real externals service on the same
 * testbed, its external system answering at once: what each step's integration suite starts
 * from. `define` builds the step from where it reaches the externals: their URL and the
 * step's service token (signed with `testInternalSecret`).
 */
export async function startStepTestbed(options: {
  /** The external system the step calls, e.g. `restaurant`: configured without delays. */
  readonly system: 'restaurant' | 'rider' | 'payment';
  readonly define: (
    externals: Required<Pick<ExternalSystemOptions, 'baseUrl' | 'authorization'>>,
  ) => ServiceDefinition;
  /** The event types the step emits, to record. */
  readonly emits: readonly string[];
  readonly adminToken?: string;
}): Promise<StepTestbed> {
  const adminToken = options.adminToken ?? 'test-admin-token';
  const instant = { delay: 0, randomDelay: 0 };
  const testbed = await createTestbed();
  try {
    const externals = await testbed.start(
      externalsService({ adminToken, internalSecret: testInternalSecret }),
      { listen: true },
    );
    const admin = jsonClient(externals.url, adminToken);
    const configured = await admin('POST', '/api/config', {
      [options.system]: { post: instant, delete: instant },
    });
    if (configured.status !== 202) {
      throw new Error(`externals refused the test config: ${configured.status}`);
    }
    const credentials = testCredentials(options.system);
    const step = await testbed.start(
      options.define({
        baseUrl: externals.url,
        authorization: () => credentials.authorization('externals'),
      }),
    );
    const events = await testbed.record(options.emits);
    return { testbed, step, events, admin, close: () => testbed.close() };
  } catch (error) {
    await testbed.close();
    throw error;
  }
}
