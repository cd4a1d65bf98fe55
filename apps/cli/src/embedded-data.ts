import { access, mkdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { type DataDirLock, lockDataDir, type LockOptions } from './data-dir-lock.ts';
import { describeDataDirProblem } from './data-dir-problem.ts';
import { OperatorError } from './operator-error.ts';

export interface EmbeddedDataOptions {
  /**
   * `cads start`: create the directory and initialise the database when missing. Otherwise
   * (the operator commands) a directory without data is refused.
   */
  readonly create: boolean;
  readonly onStaleLock?: LockOptions['onStaleLock'];
}

/** The embedded PGlite data, held by this process until `close`. */
export interface EmbeddedData {
  readonly host: PgliteHost;
  /** Closes PGlite, then gives the directory up. */
  close(): Promise<void>;
}

/**
 * Opens the embedded data in `dataDir` for this process alone: the directory is locked first
 * (`lockDataDir`: a second process is refused, a lock left by a crashed one taken over), then
 * PGlite opens it, its files readable by their owner only (`openPglite`). The lock is held
 * until `close`, and released when opening fails.
 *
 * Every failure with a known cause is an `OperatorError` whose message says, in one line, what
 * happened and what to do: the directory in use (naming the process), no data there (unless
 * `create`), a full disk, permission denied, a read-only file system, data PGlite cannot open
 * (possibly corrupted). Anything else is thrown as it is.
 */
export async function openEmbeddedData(
  dataDir: string,
  options: EmbeddedDataOptions,
): Promise<EmbeddedData> {
  const hadData = await exists(join(dataDir, 'PG_VERSION'));
  if (!hadData && !options.create) {
    throw new OperatorError(
      `no embedded data in ${dataDir} (\`cads start\` creates it); give --data, or --postgres-url/--prefix for a cluster`,
    );
  }
  let lock: DataDirLock;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    lock = await lockDataDir(dataDir, options);
  } catch (error) {
    throw await explained(error, { dataDir, opening: false, hadData });
  }
  try {
    const host = await openPglite({ dataDir });
    return {
      host,
      async close() {
        try {
          await host.close();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (error) {
    await lock.release();
    throw await explained(error, { dataDir, opening: true, hadData });
  }
}

async function explained(
  error: unknown,
  facts: { dataDir: string; opening: boolean; hadData: boolean },
): Promise<unknown> {
  if (error instanceof OperatorError) return error;
  const freeBytes = await statfs(facts.dataDir).then(
    (stats) => stats.bavail * stats.bsize,
    () => undefined,
  );
  const message = describeDataDirProblem(error, { ...facts, freeBytes });
  return message === undefined ? error : new OperatorError(message, { cause: error });
}

/** Whether `path` exists; when that cannot be told (permission denied), opening will say why. */
async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}
