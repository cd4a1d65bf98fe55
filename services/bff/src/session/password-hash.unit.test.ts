import { describe, expect, it } from 'vitest';
import {
  defaultScryptParams,
  hashPassword,
  needsRehash,
  parametersOf,
  type ScryptParams,
  verifyPassword,
} from './password-hash.ts';

const small: ScryptParams = { cost: 2 ** 10, blockSize: 8, parallelization: 1, keyLength: 32 };

describe('password hashes', () => {
  it('verify the password they were made from, and no other', async () => {
    const stored = await hashPassword('correct horse battery', small);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery ', stored)).toBe(false);
    expect(await verifyPassword('Correct horse battery', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('are salted: the same password hashes differently each time', async () => {
    const [a, b] = [
      await hashPassword('same password', small),
      await hashPassword('same password', small),
    ];
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('keep their parameters, so a hash made with older ones still verifies and asks to be redone', async () => {
    const stored = await hashPassword('parameters kept', small);
    expect(stored).toMatch(/^scrypt\$ln=10,r=8,p=1\$[\w-]{22}\$[\w-]{43}$/);
    expect(parametersOf(stored)).toEqual(small);
    expect(needsRehash(stored, small)).toBe(false);
    expect(needsRehash(stored)).toBe(true);
    expect(await verifyPassword('parameters kept', stored)).toBe(true);

    const current = await hashPassword('parameters kept');
    expect(parametersOf(current)).toEqual(defaultScryptParams);
    expect(needsRehash(current)).toBe(false);
    expect(await verifyPassword('parameters kept', current)).toBe(true);
  });

  it('compare the same characters typed in another Unicode form as equal', async () => {
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';
    const stored = await hashPassword(composed, small);
    expect(await verifyPassword(decomposed, stored)).toBe(true);
  });

  it('verify nothing against a value that is not such a hash, or asks for too much memory', async () => {
    const stored = await hashPassword('anything at all', small);
    const [, , salt, key] = stored.split('$');
    for (const bad of [
      '',
      'plain text',
      `bcrypt$ln=10,r=8,p=1$${salt}$${key}`,
      `scrypt$ln=30,r=8,p=1$${salt}$${key}`,
      `scrypt$ln=10,r=8,p=1$${salt}$AAAA`,
    ]) {
      expect(await verifyPassword('anything at all', bad), bad).toBe(false);
      expect(parametersOf(bad), bad).toBeUndefined();
    }
  });
});
