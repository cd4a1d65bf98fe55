import type { Stats } from 'node:fs';
import { chmod, lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Takes every group and other permission off `dir` and everything under it (0644 → 0600,
 * 0755 → 0700), so only its owner can read or change it; symbolic links are left alone and not
 * followed. PGlite sets the mode of the files it copies in at initialisation itself (0666,
 * whatever the process's umask), and versions before this one left data world-writable.
 * An entry that disappears meanwhile is skipped; any other failure (not the owner: EPERM) is
 * thrown.
 */
export async function restrictToOwner(dir: string): Promise<void> {
  // The directory itself may be reached through a symbolic link; links inside it are not followed.
  const real = await realpath(dir);
  await restrict(real, await lstat(real));
}

async function restrict(path: string, stats: Stats): Promise<void> {
  if (stats.isSymbolicLink()) return;
  if ((stats.mode & 0o077) !== 0) await ignoreMissing(chmod(path, stats.mode & 0o700));
  if (!stats.isDirectory()) return;
  const names = await ignoreMissing(readdir(path));
  await Promise.all(
    (names ?? []).map(async (name) => {
      const child = join(path, name);
      const childStats = await ignoreMissing(lstat(child));
      if (childStats) await restrict(child, childStats);
    }),
  );
}

async function ignoreMissing<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
