import { createHash, timingSafeEqual } from 'node:crypto';
import { httpProblem } from '@cads/http';
import type { FastifyRequest } from 'fastify';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * An `onRequest` hook that lets through only `Authorization: Bearer <adminToken>`, compared in
 * constant time; anything else is a 401 problem, before the body is even parsed.
 */
export function requireAdmin(adminToken: string): (request: FastifyRequest) => Promise<void> {
  if (adminToken.trim() === '') throw new Error('externals: adminToken must not be empty');
  const expected = digest(`Bearer ${adminToken}`);
  return (request) => {
    const header = request.headers.authorization;
    if (typeof header === 'string' && timingSafeEqual(digest(header), expected)) {
      return Promise.resolve();
    }
    return Promise.reject(
      httpProblem('CADS_UNAUTHORIZED', 'This endpoint needs the admin bearer token.', {
        headers: { 'www-authenticate': 'Bearer realm="cads-externals"' },
      }),
    );
  };
}
