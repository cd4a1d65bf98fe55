import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isServiceName, serviceNames, type ServiceName } from '../../apps/cli/src/system.ts';

/**
 * What the deployment files must agree with, read from the code itself: the environment
 * variables the processes read, the settings each service needs, the NATS broker's defaults and
 * the packages the service processes import. Nothing here is copied by hand from the code, so a
 * change there makes the deployment checks fail until the manifests follow.
 */
export interface CodeFacts {
  /** `cads:<root package.json version>`: the image every deployment file runs. */
  readonly image: string;
  /** The first port (`CADS_PORT`'s default): service `s` listens on `basePort + portOffsets[s]`. */
  readonly basePort: number;
  /** Every environment variable a service process reads (`process.env.X`, `env.X`). */
  readonly environmentRead: ReadonlySet<string>;
  /** The variables `cads run <service>` needs in a container, by service. */
  readonly requiredEnvironment: Readonly<Record<ServiceName, readonly string[]>>;
  /** The JetStream stream the services create (createNatsBroker's defaults). */
  readonly natsStream: {
    readonly stream: string;
    readonly subjectPrefix: string;
    readonly duplicateWindowMs: number;
  };
  /** Imports of the service processes that `npm ci --omit=dev` would not install. */
  readonly devOnlyRuntimeImports: readonly string[];
}

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export function readRepositoryFile(path: string): string {
  return readFileSync(join(repositoryRoot, path), 'utf8');
}

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

function readPackageJson(directory: string): PackageJson {
  return JSON.parse(readRepositoryFile(join(directory, 'package.json'))) as PackageJson;
}

/** The workspaces whose code a service process runs (the web app ships as built files). */
function runtimeWorkspaces(): string[] {
  const under = (folder: string) =>
    readdirSync(join(repositoryRoot, folder), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${folder}/${entry.name}`)
      .filter((path) =>
        statSync(join(repositoryRoot, path, 'package.json'), { throwIfNoEntry: false }),
      );
  return [...under('packages'), ...under('services'), 'apps/cli'].filter(
    (path) => path !== 'packages/testing',
  );
}

function typeScriptFiles(directory: string): string[] {
  const absolute = join(repositoryRoot, directory);
  if (!statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : typeScriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const importsTestRunner = /from ['"]vitest/;

/**
 * The files a service process may load, as the image ships them (deploy/Dockerfile removes
 * tests, `testing/` folders and whatever imports the test runner).
 */
function runtimeSources(): Array<{ workspace: string; path: string; text: string }> {
  return runtimeWorkspaces().flatMap((workspace) =>
    typeScriptFiles(`${workspace}/src`)
      .map((path) => ({ workspace, path, text: readRepositoryFile(path) }))
      .filter(({ text }) => !importsTestRunner.test(text)),
  );
}

const environmentPatterns = [
  /\bprocess\.env\.([A-Z][A-Z0-9_]*)/g,
  /\bprocess\.env\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g,
  // An environment passed down as a parameter (`env: process.env`).
  /\benv\.([A-Z][A-Z0-9_]*)/g,
];

function environmentReadBy(texts: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const text of texts) {
    for (const pattern of environmentPatterns) {
      for (const match of text.matchAll(pattern)) names.add(match[1]!);
    }
  }
  return names;
}

function match(text: string, pattern: RegExp, what: string): RegExpExecArray {
  const found = pattern.exec(text);
  if (!found) throw new Error(`cannot find ${what} in the code (${String(pattern)})`);
  return found;
}

/**
 * The variables each service needs under `cads run`: the ones `run` always needs, plus, for each
 * setting that service's definition reads (`definitionOf` in system.ts) and that has no default
 * (not optional in `ServiceSettings`), the variable main.ts takes it from.
 */
function requiredEnvironment(): Record<ServiceName, string[]> {
  const system = readRepositoryFile('apps/cli/src/system.ts');
  const main = readRepositoryFile('apps/cli/src/main.ts');
  const settingsInterface = match(
    system,
    /export interface ServiceSettings \{([\s\S]*?)\n\}/,
    'ServiceSettings',
  )[1]!;
  const optional = new Set([...settingsInterface.matchAll(/readonly (\w+)\?:/g)].map((m) => m[1]!));
  // `settingName: process.env.X` in the run command's settings, and `const name = …process.env.X`
  // on one line (databaseUrl, brokerUrl, host, port, adminToken, sessionSecret, internalSecret…).
  const variableOf = new Map<string, string>();
  for (const [, setting, variable] of main.matchAll(/(\w+): process\.env\.([A-Z][A-Z0-9_]*)/g)) {
    variableOf.set(setting!, variable!);
  }
  for (const [, name, variable] of main.matchAll(
    /const (\w+) = [^;\n]*?process\.env\.([A-Z][A-Z0-9_]*)/g,
  )) {
    if (!variableOf.has(name!)) variableOf.set(name!, variable!);
  }
  const variableFor = (setting: string) => {
    const variable = variableOf.get(setting);
    if (!variable) throw new Error(`main.ts sets ${setting} from no environment variable`);
    return variable;
  };
  // Read by `run` itself; CADS_HOST and CADS_PORT default to 127.0.0.1:3000, useless in a
  // container, and without CADS_INTERNAL_SECRET `run` refuses to start whatever the service.
  const base = ['databaseUrl', 'brokerUrl', 'host', 'port', 'internalSecret'].map(variableFor);
  const definition = match(system, /export function definitionOf\([\s\S]*?\n\}/, 'definitionOf')[0];
  const required: Partial<Record<ServiceName, string[]>> = {};
  const parts = definition.split(/case '(\w+)':/);
  for (let index = 1; index < parts.length; index += 2) {
    const service = parts[index]!;
    if (!isServiceName(service)) throw new Error(`definitionOf has a case for '${service}'`);
    const settings = [...parts[index + 1]!.matchAll(/settings\.(\w+)/g)]
      .map((m) => m[1]!)
      .filter((setting) => !optional.has(setting));
    required[service] = [...base, ...settings.map(variableFor)];
  }
  return Object.fromEntries(
    serviceNames.map((service) => {
      const variables = required[service];
      if (!variables) throw new Error(`definitionOf has no case for ${service}`);
      return [service, variables];
    }),
  ) as Record<ServiceName, string[]>;
}

function natsStreamDefaults(): CodeFacts['natsStream'] {
  const broker = readRepositoryFile('packages/messaging-nats/src/nats-broker.ts');
  return {
    stream: match(
      broker,
      /const stream = options\.stream \?\? '([^']+)'/,
      'the default stream',
    )[1]!,
    subjectPrefix: match(
      broker,
      /const subjectPrefix = options\.subjectPrefix \?\? '([^']+)'/,
      'the default subject prefix',
    )[1]!,
    duplicateWindowMs: Number(
      match(
        broker,
        /duplicateWindowMs: options\.duplicateWindowMs \?\? ([\d_]+)/,
        'the dedup window',
      )[1]!.replaceAll('_', ''),
    ),
  };
}

const importPattern = /^\s*(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

/**
 * Bare imports of the runtime sources that `npm ci --omit=dev` leaves out: a package that is
 * not a production dependency of the importing workspace (or of the root, where tsx is), a
 * workspace that is not one, or test support the image does not ship.
 */
function devOnlyRuntimeImports(): string[] {
  const root = readPackageJson('.');
  const workspaceNames = new Map(
    runtimeWorkspaces().map((path) => [readPackageJson(path).name ?? path, path]),
  );
  const problems = new Set<string>();
  for (const { workspace, path, text } of runtimeSources()) {
    const own = readPackageJson(workspace);
    const production = new Set([
      ...Object.keys(own.dependencies ?? {}),
      ...Object.keys(root.dependencies ?? {}),
    ]);
    for (const [, specifier] of text.matchAll(importPattern)) {
      if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue;
      const parts = specifier!.split('/');
      const name = specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
      if (name.startsWith('@cads/')) {
        if (!workspaceNames.has(name) || /\/testing$/.test(specifier!)) {
          problems.add(`${path}: ${specifier!} is not shipped in the image`);
        }
      } else if (!production.has(name)) {
        problems.add(`${path}: ${name} is not a production dependency of ${workspace}`);
      }
    }
  }
  return [...problems];
}

export function readCodeFacts(): CodeFacts {
  const root = readPackageJson('.');
  return {
    image: `cads:${root.version ?? 'unknown'}`,
    basePort: Number(
      match(
        readRepositoryFile('apps/cli/src/main.ts'),
        /process\.env\.CADS_PORT \?\? (\d+)/,
        "CADS_PORT's default",
      )[1],
    ),
    environmentRead: environmentReadBy(runtimeSources().map(({ text }) => text)),
    requiredEnvironment: requiredEnvironment(),
    natsStream: natsStreamDefaults(),
    devOnlyRuntimeImports: devOnlyRuntimeImports(),
  };
}
