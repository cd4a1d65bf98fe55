/**
 * Cluster scaling and recovery benchmark: the maximum saga throughput (closed loop) with one and
 * with two instances of each consumer service (restaurant, rider, payment), and, with two, the
 * saga latency at half that maximum without faults and while a random consumer process is
 * SIGKILLed every 5 s (the supervisor restarts it). `--write` records it in docs/benchmarks.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { closeConnections, configureExternals, noDelays, placeOrder } from './client.ts';
import {
  type CadsTarget,
  cadsTarget,
  closedLoop,
  type LoadTarget,
  openLoop,
  type PhaseResult,
} from './load.ts';
import { describePhase, machine } from './report.ts';
import { type BenchSystem, startClusterBench } from './systems.ts';
import { FinalTracker } from './tracker.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '100' },
    'fault-seconds': { type: 'string', default: '60' },
    'kill-every': { type: 'string', default: '5' },
    port: { type: 'string', default: '4100' },
    write: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const concurrency = Number(values.concurrency);
const faultSeconds = Number(values['fault-seconds']);
const killEverySeconds = Number(values['kill-every']);
const port = Number(values.port);
const consumers = ['restaurant', 'rider', 'payment'] as const;

let interrupted = false;
// Interrupted (Ctrl-C, or a kill): the phases end early and each cluster is stopped and its
// databases and stream deleted, so no process or data outlives the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true;
  });
}

async function withSystem<T>(
  instances: number,
  work: (system: BenchSystem, target: CadsTarget) => Promise<T>,
): Promise<T> {
  console.log(`\n[${instances} per consumer] starting the cluster…`);
  const system = await startClusterBench(
    port,
    Object.fromEntries(consumers.map((service) => [service, instances])),
  );
  console.log(`[${instances} per consumer] ${system.description}`);
  const tracker = new FinalTracker();
  await tracker.start(system.broker);
  try {
    await configureExternals(system.urls.externals, system.adminToken, noDelays);
    const probe = await placeOrder(system.order, `bench-probe-${Date.now()}`);
    if (!(await tracker.wait(probe, 60_000))) throw new Error('the probe saga did not finish');
    return await work(
      system,
      cadsTarget(system.order, tracker, () => interrupted),
    );
  } finally {
    await tracker.stop();
    for (const note of system.notes()) console.log(`[${instances} per consumer] ${note}`);
    await system.dispose();
  }
}

const maxOf = (target: LoadTarget, label: string) =>
  closedLoop(target, {
    label: `${label}: closed loop, ${seconds} s`,
    concurrency,
    seconds,
    warmupSeconds,
  });

const one = await withSystem(1, async (system, target) => {
  const max = await maxOf(target, 'max, 1 instance each');
  console.log(describePhase('cluster', max));
  return max;
});

const two = await withSystem(2, async (system, target) => {
  const max = await maxOf(target, 'max, 2 instances each');
  console.log(describePhase('cluster', max));
  target.tracker.clearEarly();
  const rate = Math.max(1, Math.round(max.sagasPerSecond / 2));
  const calm = await openLoop(target, {
    label: `half load, no faults: open loop, ${faultSeconds} s`,
    rate,
    seconds: faultSeconds,
  });
  console.log(describePhase('cluster', calm));
  const underFaults = async (load: number, label: string) => {
    target.tracker.clearEarly();
    let kills = 0;
    let killing = true;
    const chaos = (async () => {
      while (killing) {
        await new Promise((resolve) => setTimeout(resolve, killEverySeconds * 1_000));
        if (!killing) break;
        const service = consumers[Math.floor(Math.random() * consumers.length)]!;
        if (system.cluster?.kill(service, Math.floor(Math.random() * 2))) kills++;
      }
    })();
    const result = await openLoop(target, {
      label: `${label}, a consumer killed every ${killEverySeconds} s: open loop, ${faultSeconds} s`,
      rate: load,
      seconds: faultSeconds,
    });
    killing = false;
    await chaos;
    console.log(describePhase('cluster', result));
    return { result, kills };
  };
  const faulty = await underFaults(rate, 'half load');
  // Each restart costs a Node process's start-up CPU; at half load on two cores that alone
  // saturates the machine, so recovery is also measured with the CPU to spare for it.
  const light = await underFaults(Math.max(1, Math.round(rate / 2)), 'quarter load');
  return { max, calm, faulty, light };
});
closeConnections();

const lost = two.faulty.result.timeouts + two.light.result.timeouts;
const fmt = (value: number) => Math.round(value).toLocaleString('en');
const row = (what: string, result: PhaseResult) =>
  `| ${what} | ${result.offered === undefined ? `closed loop, ${result.concurrency} in flight` : `${fmt(result.offered)}/s offered`} | ${fmt(result.sagasPerSecond)} | ${fmt(result.p50Ms)} | ${fmt(result.p99Ms)} | ${fmt(result.maxMs)} | ${result.errors + result.timeouts} |`;
const section = [
  '<!-- scaling:begin -->',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} with \`npm run bench:scaling\`: the cluster (one process per instance, PostgreSQL + NATS JetStream, the BFF not in the path: orders go straight to the order service), every external system answering at once.`,
  '',
  '| run | load | sagas/s | p50 ms | p99 ms | max ms | errors + timeouts |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  row('1 instance of each consumer', one),
  row('2 instances of each consumer', two.max),
  row('2 instances, half load, no faults', two.calm),
  row(
    `2 instances, half load, a consumer SIGKILLed every ${killEverySeconds} s (${two.faulty.kills} kills)`,
    two.faulty.result,
  ),
  row(
    `2 instances, quarter load, a consumer SIGKILLed every ${killEverySeconds} s (${two.light.kills} kills)`,
    two.light.result,
  ),
  '',
  `Scaling factor, 1 → 2 instances per consumer: ${(two.max.sagasPerSecond / one.sagasPerSecond).toFixed(2)}×. Recovery cost: p99 ${fmt(two.calm.p99Ms)} ms at half load without faults, ${fmt(two.faulty.result.p99Ms)} ms at half load and ${fmt(two.light.result.p99Ms)} ms at quarter load while processes are killed; ${lost === 0 ? 'no saga lost (every one sent reached its final event)' : `${lost} sagas did not reach their final event in time`}.`,
  '<!-- scaling:end -->',
].join('\n');
console.log(`\n${section}`);
if (values.write && !interrupted) {
  const file = new URL('../../docs/benchmarks.md', import.meta.url);
  const current = await readFile(file, 'utf8');
  const next = current.includes('<!-- scaling:begin -->')
    ? current.replace(/<!-- scaling:begin -->[\s\S]*<!-- scaling:end -->/, () => section)
    : `${current.trimEnd()}\n\n## Cluster scaling and recovery\n\n${section}\n`;
  await writeFile(file, next);
  console.log('\nwritten to docs/benchmarks.md');
}
process.exit(interrupted ? 1 : 0);
