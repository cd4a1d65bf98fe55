import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@cads/messaging/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DataDirInUseError,
  formatLocalTime,
  lockDataDir,
  lockFileName,
  parseOwner,
  parseProcStat,
  processesUsing,
} from './data-dir-lock.ts';

const contender = fileURLToPath(new URL('./testing/lock-contender.ts', import.meta.url));
const ownStartTicks = parseProcStat(readFileSync('/proc/self/stat', 'utf8'))?.startTicks;

/** The pid of a process that ran and is gone. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/** A lock file as another process would have written it. */
function lockText(owner: { pid: number; startTicks?: string }): string {
  return `${JSON.stringify({ ...owner, startedAt: '2026-12-07T04:12:00.000Z', nonce: 'x' })}\n`;
}

/** Processes racing for `dataDir`'s lock: each says `won` or `refused …`. */
async function race(dataDir: string, count: number) {
  const children: ChildProcess[] = [];
  const outputs: string[][] = [];
  try {
    await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const child = spawn(process.execPath, ['--import', 'tsx', contender, dataDir], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        children.push(child);
        const lines: string[] = (outputs[index] = []);
        createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
        await waitFor(`contender ${index} to load`, () => lines.includes('ready'), {
          timeoutMs: 60_000,
          intervalMs: 50,
        });
      }),
    );
    for (const child of children) child.stdin!.write('go\n');
    await waitFor(
      'every contender to answer',
      () => outputs.every((lines) => lines.some((line) => /^(won|refused)/.test(line))),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    return {
      outputs: outputs.map((lines) => lines.filter((line) => line !== 'ready')),
      lockOnDisk: parseOwner(await readFile(join(dataDir, lockFileName), 'utf8')),
      winnerPid: children[outputs.findIndex((lines) => lines.includes('won'))]?.pid,
    };
  } finally {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.end();
        await exited;
      }),
    );
  }
}

describe('lockDataDir', () => {
  const dirs: string[] = [];
  const newDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cads-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('holds a directory until released, refusing it meanwhile, naming the holder', async () => {
    const dataDir = await newDir();
    const lock = await lockDataDir(dataDir);
    const text = await readFile(lock.path, 'utf8');
    expect(parseOwner(text)).toMatchObject({ pid: process.pid, startTicks: ownStartTicks });

    const refusal = await lockDataDir(dataDir).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirInUseError);
    const started = formatLocalTime(new Date(parseOwner(text)!.startedAt));
    expect((refusal as Error).message).toBe(
      `the data directory ${dataDir} is in use by process ${process.pid} (started ${started}). ` +
        'Stop it first, or give another --data.',
    );

    await lock.release();
    await lock.release();
    expect(await readdir(dataDir)).toEqual([]);
    await (await lockDataDir(dataDir)).release();
  });

  it('takes over the lock of a process that is gone, and says so', async () => {
    const dataDir = await newDir();
    const gone = await deadPid();
    await writeFile(join(dataDir, lockFileName), lockText({ pid: gone, startTicks: '1' }));
    const stale: unknown[] = [];
    const lock = await lockDataDir(dataDir, { onStaleLock: (found) => stale.push(found) });
    expect(stale).toEqual([
      {
        path: lock.path,
        owner: { pid: gone, startTicks: '1', startedAt: '2026-12-07T04:12:00.000Z' },
      },
    ]);
    expect(parseOwner(await readFile(lock.path, 'utf8'))?.pid).toBe(process.pid);
    await lock.release();
  });

  it('tells the owner from a later process given the same pid by its start time', async () => {
    const dataDir = await newDir();
    await writeFile(
      join(dataDir, lockFileName),
      lockText({ pid: process.pid, startTicks: String(Number(ownStartTicks) - 1) }),
    );
    const stale: unknown[] = [];
    const lock = await lockDataDir(dataDir, { onStaleLock: (found) => stale.push(found) });
    expect(stale).toHaveLength(1);
    await lock.release();
  });

  it('takes over a damaged lock file, and a takeover left half done by a crashed process', async () => {
    const dataDir = await newDir();
    await writeFile(join(dataDir, lockFileName), 'garbage');
    const first = await lockDataDir(dataDir);
    await first.release();

    const staleText = lockText({ pid: await deadPid() });
    const digest = createHash('sha256').update(staleText).digest('hex').slice(0, 16);
    await writeFile(join(dataDir, lockFileName), staleText);
    await writeFile(
      join(dataDir, `${lockFileName}.takeover-${digest}`),
      lockText({ pid: await deadPid() }),
    );
    const lock = await lockDataDir(dataDir);
    expect(await readdir(dataDir)).toEqual([lockFileName]);
    await lock.release();
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a directory another process has a file open in, though it holds no lock', async () => {
    const dataDir = await newDir();
    const file = join(dataDir, 'PG_VERSION');
    await writeFile(file, '17\n');
    const holder = spawn(process.execPath, [
      '-e',
      `require('node:fs').openSync(${JSON.stringify(file)}); setInterval(() => {}, 1000);`,
    ]);
    try {
      await waitFor('the file to be open', () => processesUsing(dataDir).includes(holder.pid!), {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      await expect(lockDataDir(dataDir)).rejects.toThrow(
        `the data directory ${dataDir} is open in process ${holder.pid} (a \`cads start\` of an ` +
          'earlier version?). PGlite is single-process: a second process on the same directory ' +
          'would corrupt it. Stop that process first, or give another --data.',
      );
      expect(await readdir(dataDir)).toEqual(['PG_VERSION']);
    } finally {
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.kill();
      await exited;
    }
  });

  it('does not count a process reading the lock files (another one trying for the lock)', async () => {
    const dataDir = await newDir();
    const lockFile = join(dataDir, lockFileName);
    await writeFile(lockFile, lockText({ pid: await deadPid() }));
    const reader = spawn(process.execPath, [
      '-e',
      `require('node:fs').openSync(${JSON.stringify(lockFile)}); setInterval(() => {}, 1000);`,
    ]);
    try {
      await waitFor(
        'the lock file to be open',
        () => processesUsing(dataDir).includes(reader.pid!),
        {
          timeoutMs: 10_000,
          intervalMs: 20,
        },
      );
      await (await lockDataDir(dataDir)).release();
    } finally {
      const exited = new Promise((resolve) => reader.once('exit', resolve));
      reader.kill();
      await exited;
    }
  });

  it(
    'lets exactly one of several processes racing for a free directory have it',
    { timeout: 120_000 },
    async () => {
      const dataDir = await newDir();
      const { outputs, lockOnDisk, winnerPid } = await race(dataDir, 4);
      expect(outputs.filter((lines) => lines.includes('won'))).toHaveLength(1);
      for (const lines of outputs.filter((lines) => !lines.includes('won'))) {
        expect(lines).toEqual([expect.stringMatching(/^refused .* is in use by process \d+/)]);
      }
      expect(lockOnDisk?.pid).toBe(winnerPid);
    },
  );

  it(
    'lets exactly one of several processes finding the same stale lock take it over',
    { timeout: 120_000 },
    async () => {
      const dataDir = await newDir();
      const gone = await deadPid();
      await writeFile(join(dataDir, lockFileName), lockText({ pid: gone }));
      const { outputs, lockOnDisk, winnerPid } = await race(dataDir, 4);
      const winners = outputs.filter((lines) => lines.includes('won'));
      expect(winners).toHaveLength(1);
      expect(outputs.flat().filter((line) => line === `took-over ${gone}`)).toHaveLength(1);
      expect(lockOnDisk?.pid).toBe(winnerPid);
      // Released once the winner exited, and no takeover or draft file left behind.
      expect(await readdir(dataDir)).toEqual([]);
    },
  );
});

describe('the lock file and /proc, read', () => {
  it('parses the start time of /proc/<pid>/stat though the command has spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, index) => String(index + 3));
    fields[0] = 'S';
    fields[19] = '987654';
    expect(parseProcStat(`42 (a b) (c)) ${fields.join(' ')}`)).toEqual({
      state: 'S',
      startTicks: '987654',
    });
    expect(parseProcStat('nonsense')).toBeUndefined();
  });

  it('reads an owner from a lock file, or none from anything else', () => {
    expect(parseOwner(lockText({ pid: 7, startTicks: '9' }))).toEqual({
      pid: 7,
      startTicks: '9',
      startedAt: '2026-12-07T04:12:00.000Z',
    });
    expect(parseOwner('{"pid":"7"}')).toBeUndefined();
    expect(parseOwner('')).toBeUndefined();
    expect(parseOwner('null')).toBeUndefined();
  });

  it('formats a time as `ps` shows it', () => {
    expect(formatLocalTime(new Date(2026, 11, 7, 4, 12, 0))).toBe('2026-12-07 04:12:00');
  });
});
