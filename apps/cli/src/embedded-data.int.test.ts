import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockFileName } from './data-dir-lock.ts';
import { openEmbeddedData } from './embedded-data.ts';
import { OperatorError } from './operator-error.ts';
import { runCli } from './testing/operator-harness.ts';

describe('openEmbeddedData', () => {
  const dirs: string[] = [];
  const newDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cads-embedded-data-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a directory without data unless asked to create it', async () => {
    const dataDir = await newDir();
    await expect(openEmbeddedData(dataDir, { create: false })).rejects.toThrow(
      `no embedded data in ${dataDir} (\`cads start\` creates it)`,
    );
    expect(await readdir(dataDir)).toEqual([]);
  });

  // Initialises PGlite on disk (seconds), then starts `cads` on it as a process.
  it(
    'says data it cannot open may be corrupted, in one line, and gives the directory up',
    { timeout: 180_000 },
    async () => {
      const dataDir = await newDir();
      const data = await openEmbeddedData(dataDir, { create: true });
      const db = await data.host.database('order');
      await db.query('create table orders (id text primary key)');
      await data.close();
      expect(await readdir(dataDir)).not.toContain(lockFileName);
      // What a torn write or a failing disk leaves: the control file is garbage.
      await writeFile(join(dataDir, 'global', 'pg_control'), randomBytes(8_192));

      const expected =
        `the data in ${dataDir} could not be opened and may be corrupted ` +
        '(PGlite failed to initialize properly). ' +
        'Move the directory away to start afresh with no data, or restore it from a backup.';
      const failure = await openEmbeddedData(dataDir, { create: true }).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(OperatorError);
      expect((failure as Error).message).toBe(expected);
      expect(await readdir(dataDir)).not.toContain(lockFileName);

      const started = await runCli(['start', '--port', '0', '--data', dataDir]);
      expect(started.code).toBe(1);
      expect(started.stderr).toBe(`cads: ${expected}\n`);
    },
  );
});
