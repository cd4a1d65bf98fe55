import { randomBytes } from 'node:crypto';
/**
 * Recovery of the embedded mode after a crash: `cads start` runs in a child process, orders are
 * placed with every external system answering after `--step-ms`, the process is SIGKILLed while
 * they are in flight, and `cads start` runs again on the same data. From the moment the new
 * process says it is running, each order interrupted mid-saga is watched (its timeline, at the
 * order service): when it takes its next step (resumes) and when it reaches its final state.
 * Repeated `--rounds` times on one data directory. `--write` records it in docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configureExternals, orderEndpoint, placeOrder } from './client.ts';
import { machine } from './report.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    'step-ms': { type: 'string', default: '300' },
    port: { type: 'string', default: '4300' },
    write: { type: 'boolean', default: false },
  },
});
const orders = Number(values.orders);
const rounds = Number(values.rounds);
const stepMs = Number(values['step-ms']);
const port = Number(values.port);
const adminToken = 'bench-recovery';
/** The secret `cads start` signs its internal calls with here, so this script can place orders. */
const internalSecret = randomBytes(32).toString('base64url');
const main = fileURLToPath(new URL('../../apps/cli/src/main.ts', import.meta.url));
const externalsUrl = `http://127.0.0.1:${port + 1}`;
const orderUrl = `http://127.0.0.1:${port + 3}`;
const order = orderEndpoint(orderUrl, internalSecret);

interface OrderState {
  readonly status: number;
  readonly events: number;
}
const final = (status: number) => status === 2 || status === 5;

/** Starts `cads start`; resolves with the process once it printed that it runs, and when. */
async function start(dataDir: string): Promise<{ child: ChildProcess; upAt: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, 'start', '--port', String(port), '--data', dataDir],
    {
      env: {
        ...process.env,
        CADS_ADMIN_TOKEN: adminToken,
        CADS_INTERNAL_SECRET: internalSecret,
        CADS_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const upAt = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('CADS is running')) resolve(Date.now());
    });
    child.once('exit', (code) => reject(new Error(`cads start exited with ${code}: ${output}`)));
  });
  child.stdout?.resume();
  return { child, upAt };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function stateOf(orderId: string): Promise<OrderState | undefined> {
  try {
    const response = await fetch(`${orderUrl}/api/orders/${orderId}`, {
      headers: { authorization: await order.credentials.authorization('order') },
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { status: number; timeline: unknown[] };
    return { status: body.status, events: body.timeline.length };
  } catch {
    return undefined;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const dataDir = await mkdtemp(join(tmpdir(), 'cads-recovery-'));
const startups: number[] = [];
const resumed: number[] = [];
const finished: number[] = [];
let interrupted = 0;
let lost = 0;
let current: ChildProcess | undefined;
try {
  let running = await start(dataDir);
  current = running.child;
  const step = { post: { delay: stepMs, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } };
  await configureExternals(externalsUrl, adminToken, {
    restaurant: step,
    rider: step,
    payment: step,
  });
  for (let round = 1; round <= rounds; round++) {
    const placed = await Promise.all(
      Array.from({ length: orders }, (_, n) => placeOrder(order, `recovery-${round}-${n}`)),
    );
    // Mid-saga: some orders a step in, some two.
    await sleep(stepMs * 1.5);
    const before = new Map<string, OrderState>();
    for (const orderId of placed) {
      const state = await stateOf(orderId);
      if (state && !final(state.status)) before.set(orderId, state);
    }
    await kill(running.child, 'SIGKILL');
    const killedAt = Date.now();
    running = await start(dataDir);
    current = running.child;
    startups.push(running.upAt - killedAt);
    interrupted += before.size;
    const pending = new Map(before);
    const resumedOf = new Set<string>();
    const deadline = Date.now() + 120_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await Promise.all(
        [...pending].map(async ([orderId, was]) => {
          const now = await stateOf(orderId);
          if (!now) return;
          const at = Date.now() - running.upAt;
          if (now.events > was.events && !resumedOf.has(orderId)) {
            resumedOf.add(orderId);
            resumed.push(at);
          }
          if (final(now.status)) {
            finished.push(at);
            pending.delete(orderId);
          }
        }),
      );
      await sleep(50);
    }
    lost += pending.size;
    console.log(
      `round ${round}: ${before.size} of ${orders} orders in flight when killed; ` +
        `up again ${running.upAt - killedAt} ms after the kill; ${pending.size} unfinished`,
    );
  }
} finally {
  if (current) await kill(current, 'SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
}

resumed.sort((a, b) => a - b);
finished.sort((a, b) => a - b);
const fmt = (n: number) => `${Math.round(n).toLocaleString('en')}`;
const table = `| | p50 ms | p99 ms | max ms |
|---|---|---|---|
| restart: kill → "CADS is running" | ${fmt(
  percentile(
    [...startups].sort((a, b) => a - b),
    50,
  ),
)} | ${fmt(
  percentile(
    [...startups].sort((a, b) => a - b),
    99,
  ),
)} | ${fmt(Math.max(...startups))} |
| interrupted saga takes its next step, from "running" | ${fmt(percentile(resumed, 50))} | ${fmt(percentile(resumed, 99))} | ${fmt(resumed.at(-1) ?? Number.NaN)} |
| interrupted saga reaches its final state, from "running" | ${fmt(percentile(finished, 50))} | ${fmt(percentile(finished, 99))} | ${fmt(finished.at(-1) ?? Number.NaN)} |`;
const summary =
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} with \`npm run bench:recovery\`: ` +
  `${rounds} rounds of ${orders} orders on one data directory, every external system answering ` +
  `after ${stepMs} ms, \`cads start\` SIGKILLed while they were in flight and started again; ` +
  `${interrupted} sagas interrupted, ${lost} not finished within 2 minutes.`;
console.log(`\n${summary}\n\n${table}\n`);

if (values.write) {
  const file = new URL('../../docs/benchmarks.md', import.meta.url);
  const current = await readFile(file, 'utf8');
  const section = `<!-- recovery:begin -->\n\n${summary}\n\n${table}\n\n<!-- recovery:end -->`;
  const next = current.includes('<!-- recovery:begin -->')
    ? current.replace(/<!-- recovery:begin -->[\s\S]*<!-- recovery:end -->/, () => section)
    : `${current.trimEnd()}\n\n## Embedded recovery after a crash (\`npm run bench:recovery\`)\n\n${section}\n`;
  await writeFile(file, next);
  console.log('wrote docs/benchmarks.md');
}
process.exitCode = lost > 0 ? 1 : 0;
