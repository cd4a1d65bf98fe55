/**
 * A failure the operator can act on (a directory in use, a full disk, a missing database):
 * `main.ts` and the operator commands print its message alone, one line without a stack, and
 * exit with code 1. The message names the cause and what to do.
 */
export class OperatorError extends Error {
  override readonly name: string = 'OperatorError';
}
