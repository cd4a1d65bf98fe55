import { serviceCredentials, type ServiceCredentials } from '@cads/http';

/**
 * The internal secret of systems started by tests. Known to every test, so it must never be
 * the secret of a deployment: production processes get theirs from their environment.
 */
export const testInternalSecret = 'test-internal-secret-0123456789abcdef';

/** Service tokens of `service` (default the BFF) signed with `testInternalSecret`. */
export function testCredentials(service = 'bff'): ServiceCredentials {
  return serviceCredentials({ secret: testInternalSecret, service });
}
