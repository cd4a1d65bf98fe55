import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { link, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OperatorError } from './operator-error.ts';

/** The process a lock file names: who holds, or held, a data directory. */
export interface LockOwner {
  readonly pid: number;
  /**
   * The process's start time in clock ticks after boot (field 22 of /proc/<pid>/stat): with
   * the pid, it tells the owner from a later process that was given the same pid. Absent where
   * there is no /proc.
   */
  readonly startTicks?: string;
  /** When the owner started, for messages. */
  readonly startedAt: string;
}

/** A data directory held by this process; `release` gives it up (at most once). */
export interface DataDirLock {
  /** The lock file. */
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Told when a lock left by a process that is gone is taken over (`owner`: what it named). */
  readonly onStaleLock?: (stale: { readonly path: string; readonly owner?: LockOwner }) => void;
}

/** The data directory is held by another live process. */
export class DataDirInUseError extends OperatorError {
  override readonly name: string = 'DataDirInUseError';
  readonly dataDir: string;
  readonly owner: { readonly pid: number; readonly startedAt?: Date };

  constructor(dataDir: string, owner: { readonly pid: number; readonly startedAt?: Date }) {
    const started = owner.startedAt ? ` (started ${formatLocalTime(owner.startedAt)})` : '';
    super(
      `the data directory ${dataDir} is in use by process ${owner.pid}${started}. ` +
        'Stop it first, or give another --data.',
    );
    this.dataDir = dataDir;
    this.owner = owner;
  }
}

/** What taking over a stale lock means, for the operator commands' notes. */
export function describeStaleLock(stale: {
  readonly path: string;
  readonly owner?: LockOwner;
}): string {
  const owner = stale.owner ? describedOwner(stale.owner) : undefined;
  const who = owner
    ? `process ${owner.pid}${owner.startedAt ? ` (started ${formatLocalTime(owner.startedAt)})` : ''}`
    : 'a process';
  return `took over the lock ${stale.path}: ${who} left it and is gone`;
}

/** The lock file, inside the directory it guards: any path that reaches the directory finds it. */
export const lockFileName = 'cads.lock';
const attemptsAtMost = 50;
const retryDelayMs = 20;

/**
 * Makes this process the only one using `dataDir` (which must exist) until `release`.
 * PGlite has no lock of its own and is single-process: two instances on one directory corrupt
 * it, so `cads start`, `cads dlq` and `cads reconcile` take this before opening it.
 *
 * The lock is the file `cads.lock` in the directory, naming the owner's pid and start time. It
 * is created whole and exclusively (written aside, then hard-linked into place), so of two
 * processes racing for a free directory exactly one wins. A lock whose owner is gone (no such
 * pid, a zombie, or a pid now used by a process that started at another time) is stale: it is
 * taken over, and `onStaleLock` told, so a crashed owner never blocks the next start. Only the
 * process that holds the takeover file for that very lock's contents may remove it (a takeover
 * file left by a crashed taker is itself stale and taken over the same way), so two processes
 * that find the same stale lock cannot both take it, nor remove a lock taken meanwhile.
 *
 * Then, as a second safeguard for data written by a version without this lock, another process
 * with a file under the directory open (from /proc) is refused too, and the lock released.
 *
 * Refusals are `OperatorError`s naming the other process (`DataDirInUseError` when it holds
 * the lock). Not covered: processes of another PID namespace or machine (a directory shared
 * between containers or over NFS), and a process that opens the directory without taking the
 * lock while this one holds it.
 */
export async function lockDataDir(
  dataDir: string,
  options: LockOptions = {},
): Promise<DataDirLock> {
  const path = join(dataDir, lockFileName);
  const mine = `${JSON.stringify({ ...ownOwner(), nonce: randomBytes(8).toString('hex') })}\n`;
  const holder = await acquire(path, mine, options);
  if (holder) throw new DataDirInUseError(dataDir, describedOwner(holder));
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await removeIfContains(path, mine);
  };
  // Not the lock's own files: another process trying for the lock reads them a moment.
  const users = processesUsing(dataDir, (path) => basename(path).startsWith(lockFileName));
  if (users.length > 0) {
    await release();
    throw new OperatorError(
      `the data directory ${dataDir} is open in process ${users.join(', ')} (a \`cads start\` ` +
        'of an earlier version?). PGlite is single-process: a second process on the same ' +
        'directory would corrupt it. Stop that process first, or give another --data.',
    );
  }
  return { path, release };
}

/**
 * Creates the lock file `path` with `contents`, taking over stale ones. Returns nothing once it
 * holds the file, else the live owner that holds it.
 */
async function acquire(
  path: string,
  contents: string,
  options: LockOptions,
): Promise<LockOwner | undefined> {
  let busy: LockOwner | undefined;
  for (let attempt = 0; attempt < attemptsAtMost; attempt++) {
    if (await createExclusive(path, contents)) return undefined;
    const held = await readIfExists(path);
    if (held === undefined) continue;
    const owner = parseOwner(held);
    if (owner && isRunning(owner)) return owner;
    // Stale. Whoever holds the takeover file named after these very contents may remove them.
    const takeover = `${path}.takeover-${createHash('sha256').update(held).digest('hex').slice(0, 16)}`;
    busy = await acquire(takeover, contents, {});
    if (busy) {
      // Another process is taking it over this instant: its lock appears in a moment.
      await sleep(retryDelayMs);
      continue;
    }
    try {
      if ((await readIfExists(path)) === held) {
        await unlink(path);
        options.onStaleLock?.({ path, ...(owner ? { owner } : {}) });
      }
    } finally {
      await removeIfContains(takeover, contents);
    }
  }
  if (busy) return busy;
  throw new Error(`could not take the lock ${path}: it kept changing`);
}

/** Creates `path` holding `contents` whole, unless it exists; true when this call created it. */
async function createExclusive(path: string, contents: string): Promise<boolean> {
  const draft = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.draft`;
  try {
    await writeFile(draft, contents, { mode: 0o600, flag: 'wx' });
    await link(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(draft, { force: true });
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function removeIfContains(path: string, contents: string): Promise<void> {
  if ((await readIfExists(path)) !== contents) return;
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

function ownOwner(): LockOwner {
  const startTicks = startTicksOf(process.pid);
  return {
    pid: process.pid,
    ...(startTicks ? { startTicks } : {}),
    startedAt: new Date(Date.now() - process.uptime() * 1_000).toISOString(),
  };
}

/** The owner a lock file names; undefined when it names none (damaged, or not a lock). */
export function parseOwner(text: string): LockOwner | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { pid, startTicks, startedAt } = parsed as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    pid,
    ...(typeof startTicks === 'string' ? { startTicks } : {}),
    startedAt: typeof startedAt === 'string' ? startedAt : '',
  };
}

function describedOwner(owner: LockOwner): { pid: number; startedAt?: Date } {
  const startedAt = new Date(owner.startedAt);
  return Number.isNaN(startedAt.getTime()) ? { pid: owner.pid } : { pid: owner.pid, startedAt };
}

/** Whether the process a lock names still runs: the same pid, started at the same time. */
function isRunning(owner: LockOwner): boolean {
  if (!hasProcfs()) {
    try {
      process.kill(owner.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const stat = procStat(owner.pid);
  if (!stat || stat.state === 'Z') return false;
  return owner.startTicks === undefined || owner.startTicks === stat.startTicks;
}

function hasProcfs(): boolean {
  return procStat(process.pid) !== undefined;
}

function startTicksOf(pid: number): string | undefined {
  return procStat(pid)?.startTicks;
}

/** State (field 3) and start time (field 22) of /proc/<pid>/stat; undefined without one. */
function procStat(pid: number): { state: string; startTicks: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** Fields of a /proc/<pid>/stat line; the command (field 2) may hold spaces and parentheses. */
export function parseProcStat(text: string): { state: string; startTicks: string } | undefined {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  if (!state || !startTicks || !/^\d+$/.test(startTicks)) return undefined;
  return { state, startTicks };
}

/** `2026-12-07 04:12:00` in local time, as `ps` and `date` show it. */
export function formatLocalTime(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ` +
    `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
  );
}

/**
 * Other processes holding a file under `dir` open (other than those `ignored`), from /proc
 * (Linux). Elsewhere, or for processes of other users, nothing is found: the check is a
 * safeguard, not a lock. Synchronous on purpose: a busy machine has tens of thousands of
 * descriptors, and one awaited call each takes seconds where plain system calls take
 * milliseconds.
 */
export function processesUsing(
  dir: string,
  ignored: (path: string) => boolean = () => false,
): number[] {
  // /proc shows real paths: a data directory reached through a symbolic link must match too.
  const root = realpathSync(resolve(dir)) + sep;
  const list = (path: string) => {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  };
  const target = (path: string) => {
    try {
      return readlinkSync(path);
    } catch {
      return '';
    }
  };
  return list('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((pid) =>
      list(`/proc/${pid}/fd`).some((fd) => {
        const path = target(`/proc/${pid}/fd/${fd}`);
        return path.startsWith(root) && !ignored(path);
      }),
    )
    .map(Number);
}
