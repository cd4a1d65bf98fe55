import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sessionCookie } from '@cads/bff/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApiDocuments } from './api-docs.ts';
import { type ServiceName, serviceNames } from './system.ts';

const root = new URL('../../../', import.meta.url);
const redocly = fileURLToPath(new URL('node_modules/@redocly/cli/bin/cli.js', root));
const config = fileURLToPath(new URL('redocly.yaml', root));
const lintTimeoutMs = 20_000;

interface LintProblem {
  readonly ruleId: string;
  readonly severity: 'error' | 'warn';
  readonly message: string;
  readonly location: readonly { readonly pointer?: string }[];
}

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number };
  readonly problems: readonly LintProblem[];
}

/** `redocly lint` of one file, with the repository's `redocly.yaml`, as its JSON report. */
function lint(file: string): Promise<LintReport> {
  const args = [redocly, 'lint', file, '--config', config, '--format', 'json'];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...args, '--max-problems', '1000'],
      {
        timeout: lintTimeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        // Offline and quiet: no usage report, no update check.
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
      // Exit code 1 means problems were found: the report on stdout says which.
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as LintReport);
        } catch {
          reject(new Error(`redocly lint gave no report (${error?.message ?? ''}): ${stderr}`));
        }
      },
    );
  });
}

const described = (problem: LintProblem): string =>
  `${problem.ruleId} at ${problem.location[0]?.pointer ?? '?'}: ${problem.message}`;

describe('OpenAPI documents of the services, as built from the code', () => {
  let documents: Record<ServiceName, unknown>;
  const reports = new Map<ServiceName, LintReport>();
  beforeAll(async () => {
    documents = (await buildApiDocuments('0.0.0-lint')).openapi;
    const dir = await mkdtemp(join(tmpdir(), 'cads-openapi-lint-'));
    try {
      // One redocly process per document, all at once: the run takes as long as the slowest.
      await Promise.all(
        serviceNames.map(async (name) => {
          const file = join(dir, `${name}.json`);
          await writeFile(file, JSON.stringify(documents[name]));
          reports.set(name, await lint(file));
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(serviceNames)('%s: redocly lint (recommended rules) finds no error', (name) => {
    const report = reports.get(name);
    const errors = report?.problems.filter((problem) => problem.severity === 'error') ?? [];
    expect(errors.map(described)).toEqual([]);
    expect(report?.totals.errors).toBe(0);
  });

  it("name the BFF's session cookie as the BFF sets it", () => {
    const bff = documents.bff as {
      components?: { securitySchemes?: { session?: { in?: string; name?: string } } };
    };
    expect(bff.components?.securitySchemes?.session).toMatchObject({
      in: 'cookie',
      name: sessionCookie,
    });
  });
});
