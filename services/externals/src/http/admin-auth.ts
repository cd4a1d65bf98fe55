import { requireBearerToken } from '@cads/http';
import type { FastifyRequest } from 'fastify';

/**
 * An `onRequest` hook that lets through only `Authorization: Bearer <adminToken>` (see
 * `requireBearerToken`); anything else is a 401 problem.
 */
export function requireAdmin(adminToken: string): (request: FastifyRequest) => Promise<void> {
  return requireBearerToken(adminToken, 'cads-admin');
}
