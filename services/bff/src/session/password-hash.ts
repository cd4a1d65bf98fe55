import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** The cost of one scrypt hash. Memory used is about `128 × cost × blockSize` bytes. */
export interface ScryptParams {
  /** CPU and memory cost N, a power of two. */
  readonly cost: number;
  /** Block size r. */
  readonly blockSize: number;
  /** Parallelization p. */
  readonly parallelization: number;
  readonly keyLength: number;
}

/**
 * N = 2^15, r = 8: 32 MiB and some 50–100 ms a hash on one core. Sign-ins and sign-ups are
 * rate limited per address (and per email), which bounds what an attacker can make a BFF spend.
 */
export const defaultScryptParams: ScryptParams = {
  cost: 2 ** 15,
  blockSize: 8,
  parallelization: 1,
  keyLength: 32,
};

const saltBytes = 16;

/**
 * A new salted scrypt hash of `password`, as one string that keeps its parameters and salt:
 * `scrypt$ln=15,r=8,p=1$<salt>$<key>` (base64url), so the parameters can be raised later while
 * old hashes still verify (see `needsRehash`). The password is NFC-normalised first, so the same
 * characters typed on another keyboard give the same hash.
 */
export async function hashPassword(
  password: string,
  params: ScryptParams = defaultScryptParams,
): Promise<string> {
  const salt = randomBytes(saltBytes);
  const key = await derive(password, salt, params);
  const ln = Math.log2(params.cost);
  return [
    'scrypt',
    `ln=${ln},r=${params.blockSize},p=${params.parallelization}`,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/**
 * Whether `password` is the one `stored` was made from, compared in constant time. A stored
 * value that is not a hash of this format verifies nothing (false), it does not throw.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** The parameters `stored` was hashed with; `undefined` when it is not a hash of this format. */
export function parametersOf(stored: string): ScryptParams | undefined {
  return parseHash(stored)?.params;
}

/** Whether `stored` was hashed with other parameters than `params` (rehash it at sign-in). */
export function needsRehash(stored: string, params: ScryptParams = defaultScryptParams): boolean {
  const current = parametersOf(stored);
  return (
    current === undefined ||
    current.cost !== params.cost ||
    current.blockSize !== params.blockSize ||
    current.parallelization !== params.parallelization ||
    current.keyLength !== params.keyLength
  );
}

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** Bounds on stored parameters, so a damaged row cannot ask for gigabytes. */
const maxLogCost = 20;
const maxBlockSize = 32;
const maxParallelization = 16;

function parseHash(stored: string): ParsedHash | undefined {
  const groups =
    /^scrypt\$ln=(?<ln>\d{1,2}),r=(?<r>\d{1,2}),p=(?<p>\d{1,2})\$(?<salt>[\w-]+)\$(?<key>[\w-]+)$/.exec(
      stored,
    )?.groups;
  if (!groups) return undefined;
  const logCost = Number(groups.ln);
  const key = Buffer.from(groups.key ?? '', 'base64url');
  const params: ScryptParams = {
    cost: 2 ** logCost,
    blockSize: Number(groups.r),
    parallelization: Number(groups.p),
    keyLength: key.length,
  };
  const withinBounds =
    logCost >= 1 &&
    logCost <= maxLogCost &&
    params.blockSize >= 1 &&
    params.blockSize <= maxBlockSize &&
    params.parallelization >= 1 &&
    params.parallelization <= maxParallelization &&
    key.length >= 16;
  if (!withinBounds) return undefined;
  return { params, salt: Buffer.from(groups.salt ?? '', 'base64url'), key };
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      params.keyLength,
      {
        N: params.cost,
        r: params.blockSize,
        p: params.parallelization,
        // Node refuses above 32 MiB by default; twice what these parameters need.
        maxmem: 256 * params.cost * params.blockSize * params.parallelization,
      },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}
