import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/** Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux). */
const TICKS = 100;

type Group = 'children' | 'postgres' | 'nats';

interface ProcTime {
  readonly group: Group;
  /** e.g. `order` for a `cads run order` process. */
  readonly label: string;
  readonly seconds: number;
}

/** Cumulative CPU seconds at one moment, per process of interest. Linux only (`/proc`). */
export interface CpuSample {
  readonly at: number;
  readonly self: number;
  readonly processes: ReadonlyMap<number, ProcTime>;
  readonly machine: number;
}

/** CPU used between two samples, in cores (CPU seconds per wall second). */
export interface CpuUse {
  /** This process (the load generator, plus the whole system in embedded mode). */
  readonly self: number;
  /** Processes started by this one (the services in cluster mode), in total and by label. */
  readonly children: number;
  readonly byChild: Readonly<Record<string, number>>;
  /** The PostgreSQL server's processes (shared with anything else using that server). */
  readonly postgres: number;
  readonly nats: number;
  /** Every CPU of the machine, busy time (other workloads included). */
  readonly machine: number;
}

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly seconds: number;
}

async function processes(): Promise<ProcStat[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const stats = await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
        if (text === undefined) return undefined;
        const open = text.indexOf('(');
        const close = text.lastIndexOf(')');
        const fields = text.slice(close + 2).split(' ');
        // After the command: state, ppid, …, utime (12th), stime (13th).
        return {
          pid: Number(entry),
          ppid: Number(fields[1]),
          comm: text.slice(open + 1, close),
          seconds: (Number(fields[11]) + Number(fields[12])) / TICKS,
        };
      }),
  );
  return stats.filter((stat) => stat !== undefined);
}

async function machineBusySeconds(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 5) return 0;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return (total - idle) / TICKS;
}

/**
 * `order` for `… main.ts run order`, `restate app` for a peer's `bench/peers/restate/saga.ts`,
 * else the command name.
 */
async function labelOf(stat: ProcStat): Promise<string> {
  const cmdline = await readFile(`/proc/${stat.pid}/cmdline`, 'utf8').catch(() => '');
  const args = cmdline.split('\0');
  const run = args.indexOf('run');
  if (run >= 0 && args[run + 1]) return args[run + 1]!;
  const peer = args.map((arg) => /bench\/peers\/(\w+)\/saga\.ts$/.exec(arg)?.[1]).find(Boolean);
  return peer ? `${peer} app` : stat.comm;
}

const labels = new Map<number, Promise<string>>();

export async function sampleCpu(): Promise<CpuSample> {
  const [all, machine] = await Promise.all([processes(), machineBusySeconds()]);
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of all) byParent.set(stat.ppid, [...(byParent.get(stat.ppid) ?? []), stat]);
  const times = new Map<number, ProcTime>();
  const queue = [...(byParent.get(process.pid) ?? [])];
  for (let next = queue.pop(); next; next = queue.pop()) {
    const stat = next;
    if (!labels.has(stat.pid)) labels.set(stat.pid, labelOf(stat));
    times.set(stat.pid, {
      group: 'children',
      label: await labels.get(stat.pid)!,
      seconds: stat.seconds,
    });
    queue.push(...(byParent.get(stat.pid) ?? []));
  }
  for (const stat of all) {
    if (stat.comm === 'postgres')
      times.set(stat.pid, { group: 'postgres', label: 'postgres', seconds: stat.seconds });
    if (stat.comm === 'nats-server')
      times.set(stat.pid, { group: 'nats', label: 'nats', seconds: stat.seconds });
  }
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    self: (usage.user + usage.system) / 1e6,
    processes: times,
    machine,
  };
}

/**
 * Per process: its time at `end` minus its time at `start` (all of it if it started in
 * between). A process that ended in between is not counted (short-lived PostgreSQL backends
 * lose a little).
 */
export function cpuBetween(start: CpuSample, end: CpuSample): CpuUse {
  const wall = (end.at - start.at) / 1_000;
  const groups: Record<Group, number> = { children: 0, postgres: 0, nats: 0 };
  const byChild: Record<string, number> = {};
  for (const [pid, time] of end.processes) {
    const spent = Math.max(0, time.seconds - (start.processes.get(pid)?.seconds ?? 0)) / wall;
    groups[time.group] += spent;
    if (time.group === 'children') byChild[time.label] = (byChild[time.label] ?? 0) + spent;
  }
  return {
    self: (end.self - start.self) / wall,
    ...groups,
    byChild,
    machine: (end.machine - start.machine) / wall,
  };
}
