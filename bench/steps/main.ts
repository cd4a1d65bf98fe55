/**
 * Step benchmark: consume → transaction (inbox + state upsert + outbox insert) → relay
 * publishes → ack, on the three storage/broker combinations, with the raw limits of the same
 * run beside them. `npm run bench -- --write` also records the results in docs/benchmarks.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { runRawJetStream } from './raw-jetstream.ts';
import { scenarios } from './scenarios.ts';
import { runRawTransactions, runSteps, type StepResult } from './step.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    chains: { type: 'string', default: '400' },
    'light-chains': { type: 'string', default: '4' },
    only: { type: 'string', default: 'a,b,c' },
    write: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const chains = Number(values.chains);
const lightChains = Number(values['light-chains']);
const only = new Set(values.only.split(','));
const targets: Record<string, number> = { a: 600, b: 0, c: 1_500 };

const fmt = (r: StepResult) =>
  `${Math.round(r.stepsPerSecond).toLocaleString('en')}/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`;
const cells = (r: StepResult) =>
  `${Math.round(r.stepsPerSecond).toLocaleString('en')} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)}`;

const rows: string[] = [];
for (const scenario of scenarios.filter((s) => only.has(s.id))) {
  const raw = await scenario.openRawDb();
  const rawResult = await runRawTransactions(raw.db, {
    concurrency: raw.concurrency,
    seconds: Math.min(seconds, 10),
  });
  await raw.dispose();
  console.log(`(${scenario.id}) raw database transactions: ${fmt(rawResult)}`);

  const setup = await scenario.open();
  const result = await runSteps(setup, { chains, seconds, warmupSeconds });
  await setup.dispose();
  // Latency without queueing: few chains, so a step rarely waits behind others.
  const light = await scenario.open();
  const lightResult = await runSteps(light, {
    chains: lightChains,
    seconds: Math.min(seconds, 10),
    warmupSeconds: 2,
  });
  await light.dispose();
  console.log(`(${scenario.id}) ${scenario.label} at ${lightChains} chains: ${fmt(lightResult)}`);
  const share = (100 * result.stepsPerSecond) / rawResult.stepsPerSecond;
  const target = targets[scenario.id] ?? 0;
  console.log(
    `(${scenario.id}) ${scenario.label} steps: ${fmt(result)} — ${share.toFixed(0)}% of raw`,
  );
  rows.push(
    `| (${scenario.id}) ${scenario.label} | ${cells(result)} | ${cells(lightResult)} | ${cells(rawResult)} | ${share.toFixed(0)}% | ${target ? `≥ ${target.toLocaleString('en')}/s, ≥ 50%` : '≥ 50%'} |`,
  );
}
let jetStreamRow = '';
if (only.has('c')) {
  const raw = await runRawJetStream({ count: 100_000, inFlight: 256 });
  console.log(`raw JetStream publish+consume+ack: ${fmt(raw)}`);
  jetStreamRow = `\nRaw JetStream in the same run (publish with 256 acks in flight + pull consume + ack, 100,000 messages): ${Math.round(raw.stepsPerSecond).toLocaleString('en')} msg/s, publish→receipt p50 ${raw.p50Ms.toFixed(1)} ms, p99 ${raw.p99Ms.toFixed(1)} ms.`;
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const section = `<!-- steps:begin -->
Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Saturated: ${chains} concurrent chains, ${seconds} s after ${warmupSeconds} s of warm-up (latency there is mostly queueing: chains ÷ throughput). Light: ${lightChains} chains. Raw: the step's three statements as bare transactions through the same \`Database\` adapter, one per transaction. Latencies in ms.

| combination | steps/s | p50 | p99 | light: steps/s | p50 | p99 | raw tx/s | p50 | p99 | saturated ÷ raw | target |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
${jetStreamRow}
<!-- steps:end -->`;
console.log(`\n${section}`);
if (values.write) {
  const file = new URL('../../docs/benchmarks.md', import.meta.url);
  const current = await readFile(file, 'utf8');
  await writeFile(file, current.replace(/<!-- steps:begin -->[\s\S]*<!-- steps:end -->/, section));
  console.log('\nwritten to docs/benchmarks.md');
}
