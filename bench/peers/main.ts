/**
 * The peer benchmark: the food saga on CADS (embedded, and distributed on PostgreSQL + NATS
 * JetStream) and on the systems a user would pick instead — Restate and DBOS Transact — in one
 * sitting, one after the other, driven by one load generator (this process), each against the
 * same CADS externals and notifications services. Per system: the maximum (closed loop), then
 * an open loop at half of it, CPU per saga by process, peak memory, and a payment-refused run
 * that checks its compensations. `--write` records the table in docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { postgresUrl as defaultPostgresUrl } from '@cads/testing';
import { closeConnections, configureExternals, noDelays } from '../saga/client.ts';
import {
  cadsTarget,
  closedLoop,
  type LoadTarget,
  openLoop,
  type PhaseResult,
} from '../saga/load.ts';
import { calibrate, machine } from '../saga/report.ts';
import {
  type BenchSystem,
  startClusterBench,
  startCompactBench,
  startEmbeddedBench,
} from '../saga/systems.ts';
import { FinalTracker } from '../saga/tracker.ts';
import { startDbosPeer } from './dbos.ts';
import { type OrderOutcome, type PeerOptions, type RunningPeer, seedOrder } from './peer.ts';
import { startRestatePeer } from './restate.ts';
import { startSharedServices, type SharedServices } from './shared-services.ts';

const systemNames = ['cads-embedded', 'cads-cluster', 'cads-compact', 'restate', 'dbos'] as const;
type SystemName = (typeof systemNames)[number];
const peerNames: readonly SystemName[] = ['restate', 'dbos'];

const usage = `Usage: npm run bench:peers -- [options]
  --systems a,b,…     of ${systemNames.join(', ')} (default: all, in that order)
  --seconds N         each measured run (default 20)
  --warmup N          closed-loop warm-up (default 5)
  --concurrency C     sagas in flight in the closed loop (default 100)
  --port P            first port to try (default 4300)
  --write             replace the peers section of docs/benchmarks.md
`;

const { values } = parseArgs({
  options: {
    systems: { type: 'string', default: systemNames.join(',') },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '100' },
    port: { type: 'string', default: '4300' },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const chosen = values.systems.split(',').map((name) => name.trim());
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const concurrency = Number(values.concurrency);
const port = Number(values.port);
if (
  chosen.some((name) => !(systemNames as readonly string[]).includes(name)) ||
  [seconds, warmupSeconds, concurrency, port].some((value) => !Number.isFinite(value) || value < 0)
) {
  process.stderr.write(usage);
  process.exit(2);
}
const postgresUrl = process.env.CADS_POSTGRES_URL ?? defaultPostgresUrl;

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.warn('\ninterrupted: finishing the sagas in flight and cleaning up');
});
process.on('SIGTERM', () => {
  interrupted = true;
});

/** One system's figures. */
interface SystemReport {
  readonly name: SystemName;
  readonly description: string;
  readonly max: PhaseResult;
  readonly half: PhaseResult;
  /** CPU milliseconds per saga at the maximum, by process (label → ms). */
  readonly cpuMsPerSaga: Readonly<Record<string, number>>;
  /** Peak resident memory by process, MiB. */
  readonly peakRssMiB: Readonly<Record<string, number>>;
  readonly compensation: string;
  readonly durability?: { readonly processCrash: string; readonly osCrash: string };
}

/** A system under test: its load target, processes and compensation check. */
interface Contender {
  readonly description: string;
  readonly target: LoadTarget;
  /** Process ids to read peak memory of, by label; `self` is this process. */
  processes(): readonly { readonly label: string; readonly pid: number }[];
  /** Runs a few orders with payments refused; describes what was checked. */
  checkCompensation(): Promise<string>;
  readonly durability?: RunningPeer['durability'];
  dispose(): Promise<void>;
}

async function peakRssMiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kib = /VmHWM:\s+(\d+) kB/.exec(status ?? '')?.[1];
  return kib === undefined ? undefined : Number(kib) / 1024;
}

/** What CADS keeps through crashes (docs/guarantees.md, "Delivery semantics by adapter"). */
const embeddedDurability = {
  processCrash:
    'every committed transaction (an order, a step, the events it emitted: one PGlite transaction each) survives; deliveries a crashed process had claimed are given back at its restart, and armed deadlines still fire.',
  osCrash:
    'PGlite never fsyncs: what the OS had not yet written to disk is lost, so the latest steps may be lost (never half a step).',
};
const clusterDurability = {
  processCrash:
    'every committed transaction survives in PostgreSQL and every published event in JetStream; a dead process’s deliveries come back to another member within their 2 s lease.',
  osCrash:
    'PostgreSQL’s commits survive (fsync on); NATS 2.9 acknowledges a publish before it reaches the disk, so events published in the last moments before an OS crash may be lost from the stream (their outbox rows are already deleted).',
};

const refusePayments = { payment: { post: { response: 409, reason: 'card declined' } } };
const acceptPayments = { payment: { post: { response: 201 } } };

/** CADS (either mode): the order service's API, finals seen on its broker. */
async function cadsContender(system: BenchSystem): Promise<Contender> {
  const tracker = new FinalTracker();
  await tracker.start(system.broker);
  await configureExternals(system.urls.externals, system.adminToken, noDelays);
  const target = cadsTarget(system.order, tracker, () => interrupted);
  return {
    description: system.description,
    target,
    durability: system.mode === 'cluster' ? clusterDurability : embeddedDurability,
    processes: () =>
      system.cluster
        ? system.cluster
            .processes()
            .filter((member) => member.pid !== undefined)
            .map((member) => ({ label: member.service, pid: member.pid! }))
        : (system.processes?.() ?? [{ label: 'cads (system + load generator)', pid: process.pid }]),
    async checkCompensation() {
      await configureExternals(system.urls.externals, system.adminToken, refusePayments);
      try {
        const ends = await Promise.all(
          Array.from({ length: 5 }, (_, n) =>
            target.run(`bench-refused-${n}-${randomUUID()}`, 60_000),
          ),
        );
        const refused = ends.filter((end) => end?.type === 'payment_cancelled').length;
        return `${refused}/5 orders ended payment_cancelled (their compensations are checked by the saga tests and \`cads reconcile\`)`;
      } finally {
        await configureExternals(system.urls.externals, system.adminToken, acceptPayments);
      }
    },
    async dispose() {
      await tracker.stop();
      await system.dispose();
    },
  };
}

/** A peer: its synchronous order call, on the shared externals and notifications services. */
async function peerContender(name: SystemName, basePort: number): Promise<Contender> {
  const workDir = await mkdtemp(join(tmpdir(), `cads-bench-${name}-`));
  const started: { shared?: SharedServices; peer?: RunningPeer } = {};
  const dispose = async () => {
    await started.peer?.stop();
    await started.shared?.stop();
    await rm(workDir, { recursive: true, force: true });
  };
  let running: RunningPeer;
  let services: SharedServices;
  try {
    services = started.shared = await startSharedServices({ postgresUrl, basePort });
    const options: PeerOptions = {
      externalsUrl: services.externalsUrl,
      notificationsUrl: services.notificationsUrl,
      internalSecret: services.internalSecret,
      postgresUrl,
      workDir,
      basePort: basePort + 10,
    };
    running = started.peer =
      name === 'restate' ? await startRestatePeer(options) : await startDbosPeer(options);
  } catch (error) {
    await dispose();
    throw error;
  }
  const order = (userId: string) => running.order({ orderId: randomUUID(), userId, ...seedOrder });
  const target: LoadTarget = {
    interrupted: () => interrupted,
    async run(userId) {
      const outcome: OrderOutcome = await order(userId);
      const end = performance.now();
      return {
        accepted: end,
        end,
        type: outcome.status === 'completed' ? 'payment_done' : `${outcome.failedStep}_cancelled`,
      };
    },
  };
  return {
    description: running.description,
    target,
    durability: running.durability,
    processes: () => [
      ...running.processes(),
      ...services.processes().map(({ label, pid }) => ({ label: `cads ${label}`, pid })),
    ],
    async checkCompensation() {
      await configureExternals(services.externalsUrl, services.adminToken, refusePayments);
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 5 }, (_, n) => order(`bench-refused-${n}-${randomUUID()}`)),
        );
        const admin = { authorization: `Bearer ${services.adminToken}` };
        let released = 0;
        for (const outcome of outcomes) {
          const records = await Promise.all(
            ['restaurant/reservations', 'rider/assignments'].map(async (path) => {
              const response = await fetch(
                `${services.externalsUrl}/api/${path}?orderId=${outcome.orderId}`,
                { headers: admin },
              );
              return (await response.json()) as { status: string }[];
            }),
          );
          const all = records.flat();
          if (all.length === 2 && all.every((record) => record.status === 'released')) released++;
        }
        const refused = outcomes.filter(
          (outcome) => outcome.status === 'failed' && outcome.failedStep === 'payment',
        ).length;
        return `${refused}/5 orders failed at payment; the reservation and the rider of ${released}/5 released at the externals`;
      } finally {
        await configureExternals(services.externalsUrl, services.adminToken, acceptPayments);
      }
    },
    dispose,
  };
}

async function benchmark(name: SystemName, contender: Contender): Promise<SystemReport> {
  // One saga first: a system that cannot finish one is not worth loading.
  const probe = await contender.target.run(`bench-probe-${randomUUID()}`, 60_000);
  if (probe?.type !== 'payment_done') {
    throw new Error(`${name}: the probe saga ended ${probe?.type ?? 'never'}, not completed`);
  }
  const max = await closedLoop(contender.target, {
    label: 'max: closed loop',
    concurrency,
    seconds,
    warmupSeconds,
  });
  console.log(describe(name, max));
  const half = await openLoop(contender.target, {
    label: 'half of max: open loop',
    rate: Math.max(1, Math.round(max.sagasPerSecond / 2)),
    seconds,
  });
  console.log(describe(name, half));
  const compensation = await contender.checkCompensation();
  console.log(`[${name}] compensation: ${compensation}`);
  const peakRss: Record<string, number> = {};
  for (const { label, pid } of contender.processes()) {
    const mib = await peakRssMiB(pid);
    if (mib !== undefined) peakRss[label] = Math.max(peakRss[label] ?? 0, mib);
  }
  return {
    name,
    description: contender.description,
    max,
    half,
    cpuMsPerSaga: cpuPerSaga(max),
    peakRssMiB: peakRss,
    compensation,
    ...(contender.durability ? { durability: contender.durability } : {}),
  };
}

/** CPU ms per saga at the maximum, by process group: this process, children, servers. */
function cpuPerSaga(result: PhaseResult): Record<string, number> {
  const perSaga = (cores: number) => (cores * 1_000) / result.sagasPerSecond;
  const byProcess: Record<string, number> = { 'bench process': perSaga(result.cpu.self) };
  for (const [label, cores] of Object.entries(result.cpu.byChild)) {
    if (cores > 0.005) byProcess[label] = perSaga(cores);
  }
  if (result.cpu.postgres > 0.005) byProcess.postgres = perSaga(result.cpu.postgres);
  if (result.cpu.nats > 0.005) byProcess.nats = perSaga(result.cpu.nats);
  byProcess['whole machine'] = perSaga(result.cpu.machine);
  return byProcess;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 100 ? 1 : 0) : '–');
const rate = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : '–');

function describe(name: string, result: PhaseResult): string {
  const problems = result.errors + result.timeouts + result.cancelled;
  return (
    `[${name}] ${result.label} (${result.offered === undefined ? `${result.concurrency} in flight` : `${rate(result.offered)}/s offered`}, ${result.seconds} s): ` +
    `${rate(result.sagasPerSecond)} sagas/s, p50 ${ms(result.p50Ms)} ms, p99 ${ms(result.p99Ms)} ms, ` +
    `machine ${result.cpu.machine.toFixed(2)} cores` +
    (problems
      ? ` — ${result.errors} errors, ${result.timeouts} timeouts, ${result.cancelled} cancelled`
      : '')
  );
}

/** The table, with each CADS figure as a ratio to the best peer of this run. */
function table(reports: readonly SystemReport[], calibrationMs: number): string {
  const peers = reports.filter((report) => peerNames.includes(report.name));
  const bestPeer = peers.reduce<SystemReport | undefined>(
    (best, report) =>
      !best || report.max.sagasPerSecond > best.max.sagasPerSecond ? report : best,
    undefined,
  );
  const ratio = (report: SystemReport) => {
    if (!bestPeer || peerNames.includes(report.name)) return '–';
    const throughput = report.max.sagasPerSecond / bestPeer.max.sagasPerSecond;
    const p99 = report.half.p99Ms / bestPeer.half.p99Ms;
    return `${throughput.toFixed(2)}× sagas/s, ${p99.toFixed(2)}× p99 at half load`;
  };
  const cpu = (report: SystemReport) =>
    Object.entries(report.cpuMsPerSaga)
      .map(([label, value]) => `${label} ${value.toFixed(1)}`)
      .join(', ');
  const rss = (report: SystemReport) =>
    Object.entries(report.peakRssMiB)
      .map(([label, value]) => `${label} ${value.toFixed(0)}`)
      .join(', ');
  const rows = reports.map(
    (report) =>
      `| ${report.name} | ${rate(report.max.sagasPerSecond)} | ${ms(report.max.p50Ms)} / ${ms(report.max.p99Ms)} | ${rate(report.half.sagasPerSecond)} | ${ms(report.half.p50Ms)} / ${ms(report.half.p99Ms)} | ${cpu(report)} | ${rss(report)} | ${ratio(report)} |`,
  );
  const notes = reports.map(
    (report) =>
      `- **${report.name}**: ${report.description}. Compensation check: ${report.compensation}.` +
      (report.durability
        ? ` Durability — process crash: ${report.durability.processCrash} OS crash: ${report.durability.osCrash}`
        : ''),
  );
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} (calibration: SHA-256 of 256 MiB on one thread in ${Math.round(calibrationMs)} ms), ${concurrency} sagas in flight for ${seconds} s after ${warmupSeconds} s of warm-up, then an open loop at half of that maximum for ${seconds} s.`,
    '',
    '| system | sagas/s at max | p50 / p99 at max (ms) | sagas/s at half | p50 / p99 at half (ms) | CPU ms per saga at max, by process | peak RSS (MiB) | vs the best peer |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...notes,
  ].join('\n');
}

const [load1] = loadavg();
console.log(
  `load average ${load1?.toFixed(2)}${(load1 ?? 0) >= 1.5 ? ' — the machine is busy: figures will be low' : ''}`,
);
const calibrationMs = calibrate();
const reports: SystemReport[] = [];
try {
  for (const name of chosen as SystemName[]) {
    if (interrupted) break;
    console.log(`\n[${name}] starting…`);
    const contender =
      name === 'cads-embedded'
        ? await cadsContender(await startEmbeddedBench())
        : name === 'cads-cluster'
          ? await cadsContender(
              await startClusterBench(port, {
                restaurant: 1,
                rider: 1,
                payment: 1,
                bff: 1,
              }),
            )
          : name === 'cads-compact'
            ? await cadsContender(await startCompactBench(port + 50))
            : await peerContender(name, port + 100);
    try {
      console.log(`[${name}] ${contender.description}`);
      reports.push(await benchmark(name, contender));
    } finally {
      await contender.dispose();
    }
  }
} finally {
  closeConnections();
}

const section = table(reports, calibrationMs);
console.log(`\n${section}`);
if (values.write && !interrupted && reports.length === systemNames.length) {
  const path = new URL('../../docs/benchmarks.md', import.meta.url);
  const current = await readFile(path, 'utf8');
  const block = `<!-- peers:begin -->\n\n${section}\n\n<!-- peers:end -->`;
  const pattern = /<!-- peers:begin -->[\s\S]*<!-- peers:end -->/;
  if (!pattern.test(current)) throw new Error('docs/benchmarks.md has no peers section');
  await writeFile(path, current.replace(pattern, block));
  console.log('wrote the peers section of docs/benchmarks.md');
}
