/**
 * Saga benchmark: end-to-end sagas, from the start of `POST /api/orders` to the saga's final
 * event (`payment_done`, or a `*_cancelled`) seen by a broadcast subscriber on the system's
 * broker, with every external system answering at once and accepting. Per mode: the maximum
 * throughput (closed loop), the cost curve at 25/50/100 % of it (open loop) and, for the
 * cluster, a sustained run. `--write` also records the results in docs/benchmarks.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { closeConnections, configureExternals, noDelays, placeOrder } from './client.ts';
import { cadsTarget, closedLoop, openLoop, type PhaseResult } from './load.ts';
import { describeMetrics, scrapeMetrics } from './metrics.ts';
import {
  calibrate,
  describePhase,
  type Mode,
  type ModeReport,
  sagaSection,
  seedRate,
  targets,
} from './report.ts';
import { type BenchSystem, startClusterBench, startEmbeddedBench } from './systems.ts';
import { FinalTracker } from './tracker.ts';
import { serviceNames } from '../../apps/cli/src/system.ts';

const usage = `Usage: npx tsx bench/saga/main.ts [options]
  --mode embedded|cluster|both   default both
  --seconds N                    each measured run (default 20)
  --warmup N                     closed-loop warm-up (default 5)
  --concurrency C                sagas in flight in the closed loop (default 100)
  --sustain-seconds N            cluster: the sustained run (default 60)
  --sustain-rate R               cluster: its rate, sagas/s (default 250)
  --port P                       cluster: first port to try (default 4100)
  --instances N                  cluster: processes per service (default 1; 2 cores gain nothing
                                 from more, see bench:scaling)
  --profile                      print per-service handler and HTTP latencies of each run
  --write                        replace the saga section of docs/benchmarks.md
`;

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '100' },
    'sustain-seconds': { type: 'string', default: '60' },
    'sustain-rate': { type: 'string', default: String(targets.clusterRate) },
    port: { type: 'string', default: '4100' },
    instances: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const modes: Mode[] =
  values.mode === 'both'
    ? ['embedded', 'cluster']
    : values.mode === 'embedded' || values.mode === 'cluster'
      ? [values.mode]
      : [];
const numbers = {
  seconds: Number(values.seconds),
  warmupSeconds: Number(values.warmup),
  concurrency: Number(values.concurrency),
  sustainSeconds: Number(values['sustain-seconds']),
  sustainRate: Number(values['sustain-rate']),
  port: Number(values.port),
  instances: Number(values.instances),
};
if (
  modes.length === 0 ||
  Object.values(numbers).some((value) => !Number.isFinite(value) || value < 0)
) {
  process.stderr.write(usage);
  process.exit(2);
}
const { seconds, warmupSeconds, concurrency, sustainSeconds, sustainRate, port, instances } =
  numbers;

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.warn(
    '\ninterrupted: finishing the sagas in flight and cleaning up (Ctrl-C again to quit now)',
  );
});

const [load1] = loadavg();
console.log(
  `load average ${load1?.toFixed(2)}${(load1 ?? 0) >= 1.5 ? ' — the machine is busy: figures will be low' : ''}`,
);

/** Runs a phase, printing it and, with --profile, where its time went in each service. */
async function phase(
  system: BenchSystem,
  run: () => Promise<PhaseResult>,
  seconds: number,
): Promise<PhaseResult> {
  const before = values.profile ? await scrapeMetrics(system.urls, system.adminToken) : undefined;
  const result = await run();
  console.log(describePhase(system.mode, result));
  if (before) {
    const byChild = Object.entries(result.cpu.byChild).sort(([, a], [, b]) => b - a);
    if (byChild.length > 0) {
      console.log(
        `    CPU cores by process: ${byChild.map(([name, cores]) => `${name} ${cores.toFixed(2)}`).join(', ')}`,
      );
    }
    for (const line of describeMetrics(
      before,
      await scrapeMetrics(system.urls, system.adminToken),
      seconds,
    ))
      console.log(`    ${line}`);
  }
  return result;
}

async function benchmark(system: BenchSystem): Promise<ModeReport> {
  const calibrationMs = calibrate();
  console.log(
    `[${system.mode}] calibration: SHA-256 of 256 MiB on one thread in ${Math.round(calibrationMs)} ms`,
  );
  const tracker = new FinalTracker();
  await tracker.start(system.broker);
  try {
    await configureExternals(system.urls.externals, system.adminToken, noDelays);
    const target = cadsTarget(system.order, tracker, () => interrupted);

    // One saga first: a system that cannot finish one is not worth loading.
    const orderId = await placeOrder(system.order, `bench-probe-${Date.now()}`);
    const probe = await tracker.wait(orderId, 60_000);
    if (!probe) throw new Error(`the probe order ${orderId} got no final event within 60 s`);
    if (probe.type !== 'payment_done')
      throw new Error(`the probe order ended with ${probe.type}, not payment_done`);

    const max = await phase(
      system,
      () =>
        closedLoop(target, {
          label: `max: closed loop, ${seconds} s`,
          concurrency,
          seconds,
          warmupSeconds,
        }),
      seconds + warmupSeconds,
    );
    tracker.clearEarly();
    const curve: PhaseResult[] = [];
    for (const share of [25, 50, 100]) {
      if (interrupted) break;
      const rate = Math.max(1, Math.round((max.sagasPerSecond * share) / 100));
      curve.push(
        await phase(
          system,
          () =>
            openLoop(target, { label: `${share}% of max: open loop, ${seconds} s`, rate, seconds }),
          seconds,
        ),
      );
      tracker.clearEarly();
    }
    let sustained: PhaseResult | undefined;
    if (system.mode === 'cluster' && !interrupted && sustainSeconds > 0) {
      sustained = await phase(
        system,
        () =>
          openLoop(target, {
            label: `sustained: open loop, ${sustainSeconds} s`,
            rate: sustainRate,
            seconds: sustainSeconds,
          }),
        sustainSeconds,
      );
    }
    for (const note of system.notes()) console.warn(`[${system.mode}] ${note}`);
    return {
      mode: system.mode,
      description: system.description,
      max,
      curve,
      sustained,
      verdicts: verdicts(system.mode, max, curve, sustained),
      calibrationMs,
    };
  } finally {
    await tracker.stop();
  }
}

const clean = (result: PhaseResult) => result.errors + result.timeouts + result.cancelled === 0;
const rate = (value: number) => `${Math.round(value).toLocaleString('en')}/s`;
const status = (met: boolean) => (met ? 'met' : '**missed**');

function verdicts(
  mode: Mode,
  max: PhaseResult,
  curve: readonly PhaseResult[],
  sustained: PhaseResult | undefined,
): string[] {
  const lines: string[] = [];
  if (mode === 'embedded') {
    const met = max.sagasPerSecond >= targets.embeddedRate && clean(max);
    lines.push(
      `Target ≥ ${targets.embeddedRate} sagas/s: ${status(met)} (${rate(max.sagasPerSecond)}, ${(max.sagasPerSecond / targets.embeddedRate).toFixed(1)}× the target).`,
    );
  } else {
    const offered = sustained?.offered ?? 0;
    const kept =
      sustained !== undefined &&
      offered >= targets.clusterRate &&
      sustained.seconds >= 60 &&
      sustained.sagasPerSecond >= 0.98 * targets.clusterRate &&
      clean(sustained);
    lines.push(
      sustained
        ? `Target ≥ ${targets.clusterRate} sagas/s sustained for 60 s: ${status(kept)} (${rate(offered)} offered for ${sustained.seconds} s: ${rate(sustained.sagasPerSecond)} achieved, p50 ${sustained.p50Ms.toFixed(0)} ms, p99 ${sustained.p99Ms.toFixed(0)} ms${clean(sustained) ? '' : `, ${sustained.errors} errors, ${sustained.timeouts} timeouts`}).`
        : `Target ≥ ${targets.clusterRate} sagas/s sustained for 60 s: not run.`,
    );
    const half = curve.find((result) => result.label.startsWith('50%'));
    lines.push(
      half
        ? `Target p99 ≤ ${targets.clusterHalfLoadP99Ms} ms at half of the maximum (${rate(half.offered ?? 0)}): ${status(half.p99Ms <= targets.clusterHalfLoadP99Ms && clean(half))} (p99 ${half.p99Ms.toFixed(0)} ms).`
        : `Target p99 ≤ ${targets.clusterHalfLoadP99Ms} ms at half load: not run.`,
    );
  }
  lines.push(
    `The seed's requirement, 1,000 orders/minute (${seedRate.toFixed(0)}/s): ${(max.sagasPerSecond / seedRate).toFixed(1)}× at the maximum.`,
  );
  return lines;
}

const reports: ModeReport[] = [];
let failed = false;
for (const mode of modes) {
  if (interrupted) break;
  console.log(`\n[${mode}] starting the system…`);
  let system: BenchSystem;
  try {
    system =
      mode === 'embedded'
        ? await startEmbeddedBench()
        : await startClusterBench(
            port,
            Object.fromEntries(serviceNames.map((service) => [service, instances])),
          );
  } catch (error) {
    console.error(`[${mode}] could not start:`, error);
    failed = true;
    continue;
  }
  console.log(`[${mode}] ${system.description}`);
  try {
    const report = await benchmark(system);
    for (const verdict of report.verdicts) console.log(`[${mode}] ${verdict.replaceAll('**', '')}`);
    reports.push(report);
  } catch (error) {
    console.error(`[${mode}] failed:`, error);
    failed = true;
  } finally {
    await system.dispose();
  }
}
closeConnections();

if (reports.length > 0) {
  const file = new URL('../../docs/benchmarks.md', import.meta.url);
  const current = await readFile(file, 'utf8');
  const section = sagaSection(current, reports);
  console.log(`\n${section}`);
  if (values.write && !interrupted) {
    if (!current.includes('<!-- saga:begin -->'))
      throw new Error('docs/benchmarks.md has no saga section');
    await writeFile(
      file,
      current.replace(/<!-- saga:begin -->[\s\S]*<!-- saga:end -->/, () => section),
    );
    console.log('\nwritten to docs/benchmarks.md (run prettier on it)');
  }
}
// Whatever a service left open (a timer, a socket) must not keep the benchmark alive.
process.exit(failed || interrupted ? 1 : 0);
