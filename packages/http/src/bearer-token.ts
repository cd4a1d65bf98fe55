import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { httpProblem } from './problem.ts';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * An `onRequest` hook that lets through only `Authorization: Bearer <token>`; anything else is
 * a 401 problem naming `realm`, before the body is even parsed.
 *
 * Guarantees: the header is compared in constant time (both sides hashed first, so neither
 * its content nor its length shows in the timing); an empty token is refused at construction,
 * so a missing setting can never open the surface to an empty header.
 */
export function requireBearerToken(
  token: string,
  realm: string,
): (request: FastifyRequest) => Promise<void> {
  if (token.trim() === '') throw new TypeError(`requireBearerToken: the ${realm} token is empty`);
  const expected = digest(`Bearer ${token}`);
  return (request) => {
    const header = request.headers.authorization;
    if (typeof header === 'string' && timingSafeEqual(digest(header), expected)) {
      return Promise.resolve();
    }
    return Promise.reject(
      httpProblem('CADS_UNAUTHORIZED', `This endpoint needs the ${realm} bearer token.`, {
        headers: { 'www-authenticate': `Bearer realm="${realm}"` },
      }),
    );
  };
}
