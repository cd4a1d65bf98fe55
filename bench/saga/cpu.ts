import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/** Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Cumulative CPU seconds at one moment, by who spent them. Linux only (`/proc`); zero elsewhere. */
export interface CpuSample {
  readonly at: number;
  /** This process (the load generator, plus the whole system in embedded mode). */
  readonly self: number;
  /** Processes started by this one (the services in cluster mode). */
  readonly children: number;
  /** The PostgreSQL server's processes (shared with anything else using that server). */
  readonly postgres: number;
  readonly nats: number;
  /** Every CPU of the machine, busy time. */
  readonly machine: number;
}

/** CPU used between two samples, in cores (CPU seconds per wall second). */
export type CpuUse = Omit<CpuSample, 'at'>;

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

export async function sampleCpu(): Promise<CpuSample> {
  const [all, machine] = await Promise.all([processes(), machineBusySeconds()]);
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of all) byParent.set(stat.ppid, [...(byParent.get(stat.ppid) ?? []), stat]);
  let children = 0;
  const queue = [...(byParent.get(process.pid) ?? [])];
  for (let next = queue.pop(); next; next = queue.pop()) {
    children += next.seconds;
    queue.push(...(byParent.get(next.pid) ?? []));
  }
  const sum = (comm: string) =>
    all.filter((stat) => stat.comm === comm).reduce((total, stat) => total + stat.seconds, 0);
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    self: (usage.user + usage.system) / 1e6,
    children,
    postgres: sum('postgres'),
    nats: sum('nats-server'),
    machine,
  };
}

export function cpuBetween(start: CpuSample, end: CpuSample): CpuUse {
  const wall = (end.at - start.at) / 1_000;
  const cores = (key: keyof CpuUse) => Math.max(0, end[key] - start[key]) / wall;
  return {
    self: cores('self'),
    children: cores('children'),
    postgres: cores('postgres'),
    nats: cores('nats'),
    machine: cores('machine'),
  };
}
