import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
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

/**
 * Parses a command's arguments; on `--help` prints its usage, on bad arguments says why with
 * the usage. Returns the parsed values, or the exit code to return at once.
 */
export function parseCommand<const O extends ParseArgsOptionsConfig>(
  command: string,
  usageText: string,
  argv: readonly string[],
  options: O,
  io: CommandIo,
):
  | {
      readonly values: ParsedValues<O>;
      readonly positionals: string[];
      readonly usage: (problem: string) => number;
    }
  | number {
  const usage = (problem: string) => {
    io.stderr(`${command}: ${problem}\n\n${usageText}`);
    return exitCode.usage;
  };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as ParsedValues<O> & { help?: boolean };
  if (values.help) {
    io.stdout(usageText);
    return exitCode.ok;
  }
  return { values, positionals: parsed.positionals, usage };
}

type ParsedValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true }>
>['values'];
