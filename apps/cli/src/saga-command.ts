import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSaga, defineSaga, type SagaDeclaration, type SagaMap, sagaGraph } from '@cads/saga';
import { type CommandIo, exitCode, parseCommand } from './command-io.ts';
import { sagaPage, sagaPagePath, withReadmeBlock } from './saga-docs.ts';
import { diagramHosts, readmeSaga, repositorySagas } from './sagas.ts';

export const sagaUsage = `Usage: cads saga check
       cads saga graph [--out <file>] [--saga <name>]

  check          checks every saga of the repository (apps/cli/src/sagas.ts): one line per
                 problem (saga: problem [code]), or one "ok" line per sound saga
  graph          writes each saga's page with its Mermaid diagram to docs/sagas/<saga>.md,
                 and the diagram between the saga-graph markers of ${diagramHosts.join(' and ')}

Options:
  --out <file>   graph: write one saga's diagram there instead: a page for a .md name, the
                 bare Mermaid text otherwise (- for stdout)
  --saga <name>  graph --out: which saga, when the repository has several
  -h, --help     this help

Exit codes: 0 ok, 1 a saga has problems (graph draws only sound sagas), 2 usage.
`;

const options = {
  out: { type: 'string' },
  saga: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface SagaCommandOptions {
  /** The sagas to check or draw (default: every saga of the repository). */
  readonly sagas?: readonly SagaDeclaration[];
  /** Where docs/ and README.md are (default: this repository's root). */
  readonly root?: string;
  /** The files that show the README's saga between saga-graph markers (default: `diagramHosts`). */
  readonly hosts?: readonly string[];
}

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** `cads saga check|graph …`: returns the exit code. */
export async function runSaga(
  argv: readonly string[],
  io: CommandIo,
  { sagas: given, root = repositoryRoot, hosts = diagramHosts }: SagaCommandOptions = {},
): Promise<number> {
  const sagas = given ?? (await repositorySagas());
  const parsed = parseCommand('cads saga', sagaUsage, argv, options, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals, usage } = parsed;
  const [command, ...rest] = positionals;
  if (rest.length > 0) return usage(`unexpected arguments: ${rest.join(' ')}`);
  if (command === 'check') {
    if (values.out !== undefined || values.saga !== undefined) {
      return usage('--out and --saga are options of graph');
    }
    return check(sagas, io);
  }
  if (command !== 'graph') {
    return usage(command ? `unknown saga command ${JSON.stringify(command)}` : 'check or graph?');
  }
  if (values.saga !== undefined && values.out === undefined) return usage('--saga needs --out');

  // Only a sound saga has a map to draw; an unsound one is reported as check reports it.
  if (check(sagas, io, { quiet: true }) !== exitCode.ok) return exitCode.failed;
  const maps = sagas.map((declaration) => defineSaga(declaration));
  if (values.out !== undefined) {
    const chosen = values.saga ?? (maps.length === 1 ? maps[0]!.name : undefined);
    const map = maps.find((candidate) => candidate.name === chosen);
    if (!map) {
      return usage(`--saga must name one of ${maps.map((candidate) => candidate.name).join(', ')}`);
    }
    return writeOne(map, values.out, io);
  }
  const written: string[] = [];
  for (const map of maps) {
    const path = sagaPagePath(map);
    await mkdir(dirname(resolve(root, path)), { recursive: true });
    if (await replace(resolve(root, path), sagaPage(map))) written.push(path);
  }
  const shown = maps.find((map) => map.name === readmeSaga);
  for (const host of shown ? hosts : []) {
    const path = resolve(root, host);
    if (await replace(path, withReadmeBlock(await readFile(path, 'utf8'), shown!, host))) {
      written.push(host);
    }
  }
  io.stdout(
    written.length > 0
      ? `cads saga graph: wrote ${written.join(', ')}\n`
      : 'cads saga graph: every diagram is up to date\n',
  );
  return exitCode.ok;
}

/** Prints each problem of each saga on one line; `quiet` leaves out the "ok" lines. */
function check(sagas: readonly SagaDeclaration[], io: CommandIo, { quiet = false } = {}): number {
  let problems = 0;
  let unsound = 0;
  for (const saga of sagas) {
    const found = checkSaga(saga);
    problems += found.length;
    if (found.length > 0) unsound += 1;
    for (const problem of found) io.stdout(`${saga.name}: ${problem.message} [${problem.code}]\n`);
    if (found.length === 0 && !quiet) {
      io.stdout(`${saga.name}: ok (${saga.steps.length} steps)\n`);
    }
  }
  if (problems === 0) return exitCode.ok;
  io.stderr(
    `cads saga: ${problems} problem${problems === 1 ? '' : 's'} in ${unsound} of ` +
      `${sagas.length} saga${sagas.length === 1 ? '' : 's'}\n`,
  );
  return exitCode.failed;
}

async function writeOne(map: SagaMap, out: string, io: CommandIo): Promise<number> {
  const text = out.endsWith('.md') ? sagaPage(map) : sagaGraph(map);
  if (out === '-') {
    io.stdout(text);
    return exitCode.ok;
  }
  const path = resolve(io.cwd, out);
  await writeFile(path, text);
  io.stdout(`cads saga graph: wrote ${path}\n`);
  return exitCode.ok;
}

/** Writes `text` to `path` unless it holds it already; true when it wrote. */
async function replace(path: string, text: string): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  });
  if (current === text) return false;
  await writeFile(path, text);
  return true;
}
