import type { FastifyReply, FastifyRequest } from 'fastify';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An `onSend` hook: the externals contract promises `{ reason }` in every non-2xx answer, while
 * the toolkit renders its own errors (validation, auth) as problem+json. Adding `reason` (the
 * problem's `detail`) keeps both promises; the system's own failures already carry it.
 */
export function addReasonToProblems(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  const type = reply.getHeader('content-type');
  if (
    reply.statusCode < 300 ||
    typeof payload !== 'string' ||
    typeof type !== 'string' ||
    !type.startsWith('application/problem+json')
  ) {
    return Promise.resolve(payload);
  }
  const problem: unknown = JSON.parse(payload);
  if (!isRecord(problem) || 'reason' in problem || typeof problem.detail !== 'string') {
    return Promise.resolve(payload);
  }
  return Promise.resolve(JSON.stringify({ ...problem, reason: problem.detail }));
}
