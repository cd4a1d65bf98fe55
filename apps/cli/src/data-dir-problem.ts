/** What is known about a data directory that could not be opened, besides the error. */
export interface DataDirFacts {
  readonly dataDir: string;
  /** The failure came from PGlite opening the directory, not from creating or locking it. */
  readonly opening: boolean;
  /** `PG_VERSION` was there before PGlite opened it: the directory held data. */
  readonly hadData: boolean;
  /** Bytes its file system has free for this user, when they could be read. */
  readonly freeBytes: number | undefined;
}

/**
 * Below this much free space a PGlite failure is taken for a full disk: PGlite reports a
 * write that found no room only as "failed to initialize", and needs tens of MB to start.
 */
export const lowSpaceBytes = 64 * 1_048_576;

/**
 * The one-line explanation, with what to do, of a failure to create, lock or open the embedded
 * data directory; undefined when the failure is not one of the known causes (it is then shown
 * as it is). Order matters: a full disk also makes PGlite fail, and is the likelier cause.
 */
export function describeDataDirProblem(error: unknown, facts: DataDirFacts): string | undefined {
  const { dataDir } = facts;
  const code = errorCode(error);
  const free =
    facts.freeBytes === undefined ? '' : ` (${Math.floor(facts.freeBytes / 1_048_576)} MB free)`;
  if (
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    (facts.opening && facts.freeBytes !== undefined && facts.freeBytes < lowSpaceBytes)
  ) {
    return (
      `the disk of the data directory ${dataDir} is full${free}. ` +
      'Free some space, or give another --data on a disk with room.'
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    const path = pathOf(error);
    return (
      `permission denied on the data directory ${dataDir}` +
      (path && path !== dataDir ? ` (${path})` : '') +
      '. Run cads as the user that owns it, or give another --data.'
    );
  }
  if (code === 'EROFS') {
    return `the data directory ${dataDir} is on a read-only file system. Give another --data.`;
  }
  if (!facts.opening) return undefined;
  if (facts.hadData) {
    return (
      `the data in ${dataDir} could not be opened and may be corrupted (${reasonOf(error)}). ` +
      'Move the directory away to start afresh with no data, or restore it from a backup.'
    );
  }
  return (
    `the embedded database could not be created in ${dataDir} (${reasonOf(error)}). ` +
    'Give an empty or new directory as --data.'
  );
}

/**
 * Emscripten's numbers for the errors that matter here: PGlite's file system throws
 * `ErrnoError`s that carry only these.
 */
const emscriptenErrno: Readonly<Record<number, string>> = {
  2: 'EACCES',
  51: 'ENOSPC',
  63: 'EPERM',
  69: 'EROFS',
};

/** The system error code of `error` or of one of its causes. */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return undefined;
    const { code, errno, name, cause } = current as Record<string, unknown>;
    if (typeof code === 'string') return code;
    if (name === 'ErrnoError' && typeof errno === 'number' && emscriptenErrno[errno]) {
      return emscriptenErrno[errno];
    }
    current = cause;
  }
  return undefined;
}

function pathOf(error: unknown): string | undefined {
  const path = (error as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : undefined;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error && error.message) return error.message.split('\n')[0]!;
  const errno = (error as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'number' ? `error number ${errno}` : String(error);
}
