import type { FastifyBaseLogger } from 'fastify';
import Type, { type Static } from 'typebox';

/** Resolves when the dependency it checks can serve traffic; rejects (or hangs) otherwise. */
export type ReadinessCheck = () => Promise<void>;

export const CheckResultSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('fail')]),
  durationMs: Type.Number(),
  reason: Type.Optional(Type.String()),
});

export type CheckResult = Static<typeof CheckResultSchema>;

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, CheckResult>;
}

class CheckTimeout extends Error {
  override readonly name = 'CheckTimeout';
}

async function withTimeout(check: ReadinessCheck, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckTimeout(`timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    // Promise.resolve().then turns a check that throws synchronously into a rejection.
    await Promise.race([Promise.resolve().then(check), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every check concurrently, each bounded by `timeoutMs`, and never rejects. A failing
 * check's error is logged; the report only says that it failed or timed out, because
 * readiness responses are unauthenticated and errors can name hosts or credentials.
 */
export async function runReadinessChecks(
  checks: Readonly<Record<string, ReadinessCheck>>,
  timeoutMs: number,
  log: FastifyBaseLogger,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const startedAt = performance.now();
      try {
        await withTimeout(check, timeoutMs);
        return [name, { status: 'ok', durationMs: Math.round(performance.now() - startedAt) }];
      } catch (error) {
        log.warn({ err: error, check: name }, 'readiness check failed');
        const reason = error instanceof CheckTimeout ? error.message : 'check failed';
        return [
          name,
          { status: 'fail', durationMs: Math.round(performance.now() - startedAt), reason },
        ];
      }
    }),
  );
  return {
    ready: entries.every(([, result]) => result.status === 'ok'),
    checks: Object.fromEntries(entries),
  };
}
