/** What an operator command reads and writes besides its databases: explicit, so tests pass theirs. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (`--data`) resolve against it. */
  readonly cwd: string;
}

/** Exit codes of the operator commands. */
export const exitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** The process's own streams, environment and directory (for `main.ts` only). */
export function processIo(): CommandIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** An ISO instant to the second, as tables show it. */
export function formatInstant(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
