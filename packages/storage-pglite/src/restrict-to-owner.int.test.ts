import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPglite } from './pglite-database.ts';
import { restrictToOwner } from './restrict-to-owner.ts';

/** Every entry under `dir` (itself included) with a group or other permission, and its mode. */
async function openToOthers(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string) => {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return;
    if ((stats.mode & 0o077) !== 0) found.push(`${(stats.mode & 0o777).toString(8)} ${path}`);
    if (stats.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
  return found;
}

describe('owner-only data on disk', () => {
  const dirs: string[] = [];
  let umask: number;
  beforeEach(() => {
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('restrictToOwner takes group and other permissions off a tree, not through links', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cads-restrict-'));
    dirs.push(root);
    const outside = join(root, 'outside');
    const dir = join(root, 'data');
    await mkdir(join(dir, 'base', '5'), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, 'PG_VERSION'), '17\n', { mode: 0o666 });
    await writeFile(join(dir, 'base', '5', '1259'), '', { mode: 0o644 });
    await writeFile(outside, '', { mode: 0o644 });
    await symlink(outside, join(dir, 'link'));
    await chmod(dir, 0o777);

    await restrictToOwner(dir);

    expect(await openToOthers(dir)).toEqual([]);
    expect((await lstat(join(dir, 'base'))).mode & 0o777).toBe(0o700);
    expect((await lstat(join(dir, 'PG_VERSION'))).mode & 0o777).toBe(0o600);
    expect((await lstat(outside)).mode & 0o777).toBe(0o644);
  });

  it(
    'openPglite keeps a new data directory owner-only under umask 022, open and closed',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'cads-pglite-modes-'));
      dirs.push(dataDir);
      const host = await openPglite({ dataDir });
      try {
        expect(await openToOthers(dataDir)).toEqual([]);
        const db = await host.database('modes');
        await db.query('create table t (id int primary key, body text)');
        await db.query(`insert into t values (1, 'x')`);
      } finally {
        await host.close();
      }
      expect(await openToOthers(dataDir)).toEqual([]);
    },
  );

  it(
    'openPglite repairs a data directory an earlier version left open to others',
    {
      timeout: 120_000,
    },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'cads-pglite-modes-'));
      dirs.push(dataDir);
      await (await openPglite({ dataDir })).close();
      await chmod(dataDir, 0o755);
      await chmod(join(dataDir, 'PG_VERSION'), 0o666);
      await chmod(join(dataDir, 'base'), 0o755);

      const host = await openPglite({ dataDir });
      try {
        expect(await openToOthers(dataDir)).toEqual([]);
      } finally {
        await host.close();
      }
    },
  );
});
