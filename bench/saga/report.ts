import { createHash } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CpuUse } from './cpu.ts';
import type { PhaseResult } from './load.ts';

export type Mode = 'embedded' | 'cluster';

export interface ModeReport {
  readonly mode: Mode;
  readonly description: string;
  readonly max: PhaseResult;
  readonly curve: readonly PhaseResult[];
  /** Cluster only: the long run at a fixed rate. */
  readonly sustained: PhaseResult | undefined;
  readonly verdicts: readonly string[];
  /** `calibrate()` just before the run. */
  readonly calibrationMs: number;
}

/** The seed's requirement: 1,000 orders per minute. */
export const seedRate = 1_000 / 60;
export const targets = {
  embeddedRate: 100,
  clusterRate: 250,
  clusterHalfLoadP99Ms: 250,
};

const int = (value: number) =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en') : '–';
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 100 ? 1 : 0) : '–');

export function describeCpu(mode: Mode, cpu: CpuUse): string {
  return mode === 'embedded'
    ? `${cpu.self.toFixed(2)} (machine ${cpu.machine.toFixed(2)})`
    : `services ${cpu.children.toFixed(2)} + pg ${cpu.postgres.toFixed(2)} + nats ${cpu.nats.toFixed(2)} + bench ${cpu.self.toFixed(2)} (machine ${cpu.machine.toFixed(2)})`;
}

export function describePhase(mode: Mode, result: PhaseResult): string {
  const load =
    result.offered === undefined
      ? `${result.concurrency} in flight`
      : `${int(result.offered)}/s offered`;
  const problems = [
    result.errors ? `${result.errors} errors` : '',
    result.timeouts ? `${result.timeouts} timeouts` : '',
    result.cancelled ? `${result.cancelled} cancelled` : '',
    result.maxLagMs > 50 ? `sender lagged up to ${ms(result.maxLagMs)} ms` : '',
  ].filter(Boolean);
  return (
    `[${mode}] ${result.label} (${load}, ${result.seconds} s): ${int(result.sagasPerSecond)} sagas/s, ` +
    `p50 ${ms(result.p50Ms)} ms, p99 ${ms(result.p99Ms)} ms, max ${ms(result.maxMs)} ms; ` +
    `202 after p50 ${ms(result.acceptP50Ms)} ms, p99 ${ms(result.acceptP99Ms)} ms; ` +
    `${result.sent} sent; CPU cores ${describeCpu(mode, result.cpu)}` +
    (problems.length ? ` — ${problems.join(', ')}` : '')
  );
}

/**
 * Milliseconds to hash 256 MiB (SHA-256) on one thread: the same machine type can be much slower
 * when its host is busy (a VM's neighbours are invisible from inside), so runs compare only
 * together with this figure.
 */
export function calibrate(): number {
  const block = Buffer.alloc(1 << 20, 7);
  const start = performance.now();
  const hash = createHash('sha256');
  for (let i = 0; i < 256; i++) hash.update(block);
  hash.digest();
  return performance.now() - start;
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function row(mode: Mode, result: PhaseResult): string {
  const problems = result.errors + result.timeouts + result.cancelled;
  return `| ${result.label} | ${result.offered === undefined ? `${result.concurrency} in flight` : int(result.offered)} | ${int(result.sagasPerSecond)} | ${ms(result.p50Ms)} | ${ms(result.p99Ms)} | ${ms(result.acceptP50Ms)} | ${describeCpu(mode, result.cpu)} | ${problems ? `${result.errors}/${result.timeouts}/${result.cancelled}` : '–'} |`;
}

/** The block of one mode inside the `saga` section of docs/benchmarks.md. */
export function modeBlock(report: ModeReport): string {
  const title = report.mode === 'embedded' ? 'Embedded' : 'Cluster';
  const rows = [report.max, ...report.curve, ...(report.sustained ? [report.sustained] : [])];
  const cpuNote =
    report.mode === 'embedded'
      ? 'CPU: cores used by the one process (system and load generator), and by the whole machine.'
      : 'CPU: cores used by the service processes, the PostgreSQL and NATS servers, the benchmark process (load generator and final-event subscriber), and the whole machine.';
  return `<!-- saga-${report.mode}:begin -->

**${title}** — ${report.description}. Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} (calibration: SHA-256 of 256 MiB on one thread in ${Math.round(report.calibrationMs)} ms). ${cpuNote}

| run | offered/s | sagas/s | p50 | p99 | 202 p50 | CPU (cores) | errors/timeouts/cancelled |
|---|---|---|---|---|---|---|---|
${rows.map((result) => row(report.mode, result)).join('\n')}

${report.verdicts.map((verdict) => `- ${verdict}`).join('\n')}

<!-- saga-${report.mode}:end -->`;
}

/** The `saga` section with the blocks of the modes run now, keeping the others' last results. */
export function sagaSection(current: string, reports: readonly ModeReport[]): string {
  const blocks = (['embedded', 'cluster'] as const).map((mode) => {
    const report = reports.find((candidate) => candidate.mode === mode);
    if (report) return modeBlock(report);
    const kept = new RegExp(`<!-- saga-${mode}:begin -->[\\s\\S]*<!-- saga-${mode}:end -->`).exec(
      current,
    );
    return kept?.[0] ?? '';
  });
  return `<!-- saga:begin -->\n\n${blocks.filter(Boolean).join('\n\n')}\n\n<!-- saga:end -->`;
}
