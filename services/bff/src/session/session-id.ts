import { createHash, randomBytes } from 'node:crypto';

/** A new session id: 256 random bits, base64url (43 characters). Unguessable, never reused. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether `value` has the shape of a session id (anything else is no session). */
export function isSessionId(value: string): boolean {
  return /^[\w-]{43}$/.test(value);
}

/**
 * What the database keeps of a session id: its SHA-256, so a leaked table or backup hands out
 * no working cookie. The id is random, so no salt or slow hash is needed.
 */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
