import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** Where bundles go: inside the repository, so their bare imports resolve in its node_modules. */
const cacheDirectory = new URL('../../../node_modules/.cache/cads/', import.meta.url);

/**
 * Keeps third-party packages external (loaded from node_modules as usual) and gives each
 * module's `import.meta.url` its source file's URL, so what a module resolves next to itself
 * (its migrations, the built web app) resolves as it does from the sources.
 */
const sourcesOnly: Plugin = {
  name: 'cads-sources-only',
  setup(bundle) {
    bundle.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@cads/') || args.kind === 'entry-point'
        ? undefined
        : { path: args.path, external: true },
    );
    bundle.onLoad({ filter: /\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }));
  },
};

/** A compiled `cads` command: the file to run with `node`, and how to remove it. */
export interface ProcessBundle {
  readonly file: string;
  remove(): Promise<void>;
}

/**
 * The `cads` command compiled into one JavaScript file, for the processes a supervisor starts
 * and restarts. Loading it costs a process about a third of the CPU that loading and
 * transpiling the TypeScript sources does (≈ 1.4 instead of ≈ 3.9 core-seconds, measured on a
 * loaded 2-core machine): on a cluster whose processes are killed often, restarts are what
 * recovery waits for. Each call writes a file of its own, so clusters started at once never
 * share one.
 */
export async function bundleCommand(): Promise<ProcessBundle> {
  await mkdir(cacheDirectory, { recursive: true });
  const file = fileURLToPath(
    new URL(`cads-${process.pid}-${randomBytes(4).toString('hex')}.mjs`, cacheDirectory),
  );
  await build({
    entryPoints: [fileURLToPath(new URL('./main.ts', import.meta.url))],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [sourcesOnly],
  });
  return { file, remove: () => rm(file, { force: true }) };
}
