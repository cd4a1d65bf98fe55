import { portOffsets, serviceNames } from '../../apps/cli/src/system.ts';
import type { Check } from './check.ts';
import { readRepositoryFile } from './code-facts.ts';

type Rule = Check['run'];

interface Instruction {
  readonly keyword: string;
  readonly value: string;
}

interface Stage {
  readonly name: string;
  /** The image or stage it starts from, build arguments resolved. */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** Instructions in order (continuations joined, comments dropped), split into stages. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const buildArguments = new Map<string, string>();
  const stages: Array<{ name: string; from: string; instructions: Instruction[] }> = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [image = '', as, name] = value.replace(/--platform=\S+\s+/, '').split(/\s+/);
      const from = image.replace(
        /\$\{?(\w+)\}?/g,
        (_, variable: string) => buildArguments.get(variable) ?? '',
      );
      stages.push({
        name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length),
        from,
        instructions: [],
      });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [variable = '', initial = ''] = value.split('=');
      buildArguments.set(variable, initial);
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, value });
    }
  }
  return stages;
}

function jsonArray(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

function exposedPorts(value: string): Set<number> {
  const ports = new Set<number>();
  for (const part of value.split(/\s+/)) {
    const [first, last = first] = part
      .replace(/\/\w+$/, '')
      .split('-')
      .map(Number);
    for (let port = first ?? NaN; port <= (last ?? NaN); port++) ports.add(port);
  }
  return ports;
}

const installs = (stage: Stage) =>
  stage.instructions.filter(
    (instruction) =>
      instruction.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(instruction.value),
  );

/** Whether a stage, or a stage it starts from, installed the dev dependencies. */
function hasDevDependencies(stages: readonly Stage[], stage: Stage | undefined): boolean {
  if (!stage) return false;
  if (installs(stage).some((instruction) => !instruction.value.includes('--omit=dev'))) return true;
  return hasDevDependencies(
    stages,
    stages.find((candidate) => candidate.name === stage.from),
  );
}

const secretLike = /(^|[\s/])(\.env\b|\.cads\b|[^\s]*secret|[^\s]*\.pem\b|[^\s]*\.key\b)/i;

/** Multi-stage, production dependencies only, non-root, health-checked, running `cads run`. */
const image: Rule = ({ dockerfile }, facts) => {
  const stages = parseDockerfile(dockerfile);
  const problems: string[] = [];
  const final = stages.at(-1);
  if (stages.length < 3 || !final)
    return [`Dockerfile: ${stages.length} stages; deps, build and a runtime are needed`];
  const last = (keyword: string) =>
    final.instructions.filter((instruction) => instruction.keyword === keyword).at(-1)?.value;
  if (!/^node:20(\.\d+)*-(\w+-)?slim(@sha256:[a-f0-9]{64})?$/.test(final.from)) {
    problems.push(
      `Dockerfile: the runtime stage starts from ${final.from}, not a slim Node 20 image`,
    );
  }
  const user = last('USER')?.split(':')[0];
  if (user === undefined || user === 'root' || user === '0')
    problems.push('Dockerfile: the runtime stage runs as root (no USER)');
  else if (!/^\d+$/.test(user))
    problems.push(`Dockerfile: USER ${user} is not numeric, so runAsNonRoot cannot verify it`);
  const environment = final.instructions
    .filter((instruction) => instruction.keyword === 'ENV')
    .map((instruction) => instruction.value)
    .join(' ');
  if (!/\bNODE_ENV=production\b/.test(environment))
    problems.push('Dockerfile: NODE_ENV=production is not set');
  const healthcheck = last('HEALTHCHECK') ?? '';
  if (!healthcheck.includes('/health') || !healthcheck.includes('CADS_PORT')) {
    problems.push('Dockerfile: no HEALTHCHECK calling /health on $CADS_PORT');
  }
  const entrypoint = jsonArray(last('ENTRYPOINT')) ?? [];
  const importsTsx = entrypoint.some(
    (part, index) => part === '--import' && entrypoint[index + 1] === 'tsx',
  );
  if (
    !importsTsx ||
    !entrypoint.some((part) => part.endsWith('apps/cli/src/main.ts')) ||
    entrypoint.at(-1) !== 'run'
  ) {
    problems.push('Dockerfile: ENTRYPOINT must be node --import tsx …/apps/cli/src/main.ts run');
  }
  const command = jsonArray(last('CMD'));
  if (command?.length !== 1 || !serviceNames.some((service) => service === command[0])) {
    problems.push('Dockerfile: CMD must be one service name');
  }
  const exposed = exposedPorts(
    final.instructions
      .filter((instruction) => instruction.keyword === 'EXPOSE')
      .map((instruction) => instruction.value)
      .join(' '),
  );
  for (const service of serviceNames) {
    const port = facts.basePort + portOffsets[service];
    if (!exposed.has(port)) problems.push(`Dockerfile: port ${port} (${service}) is not exposed`);
  }
  if (
    stages.some((stage) =>
      installs(stage).some((instruction) => !/\bnpm ci\b/.test(instruction.value)),
    )
  ) {
    problems.push('Dockerfile: install with npm ci (the lockfile), not npm install');
  }
  if (hasDevDependencies(stages, final))
    problems.push('Dockerfile: the runtime stage starts from a stage with dev dependencies');
  let productionDependencies = false;
  for (const instruction of final.instructions.filter(({ keyword }) => keyword === 'COPY')) {
    const source = /--from=(\S+)/.exec(instruction.value)?.[1];
    const origin = stages.find((stage) => stage.name === source);
    const paths = instruction.value.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1);
    if (origin && installs(origin).some((run) => run.value.includes('--omit=dev')))
      productionDependencies = true;
    if (
      origin &&
      hasDevDependencies(stages, origin) &&
      !paths.every((path) => /\/apps\/web\/dist\/?$/.test(path))
    ) {
      problems.push(
        `Dockerfile: the runtime stage copies ${paths.join(' ')} from ${origin.name}, which has dev dependencies`,
      );
    }
  }
  if (!productionDependencies)
    problems.push('Dockerfile: the runtime stage has no dependencies from npm ci --omit=dev');
  for (const stage of stages) {
    for (const instruction of stage.instructions.filter(
      ({ keyword }) => keyword === 'COPY' || keyword === 'ADD',
    )) {
      if (secretLike.test(instruction.value.replace(/--\S+/g, ''))) {
        problems.push(
          `Dockerfile: stage ${stage.name} copies what looks like a secret: ${instruction.value}`,
        );
      }
    }
  }
  return problems;
};

/** What the build context leaves out, and what the runtime needs from package.json. */
const context: Rule = ({ dockerignore }, facts) => {
  const problems: string[] = [];
  const lines = new Set(dockerignore.split('\n').map((line) => line.trim().replace(/^\*\*\//, '')));
  for (const required of [
    'node_modules',
    '.git',
    '.cads',
    '.env',
    'test-results',
    'dist',
    'bench',
    'e2e',
    '*.test.ts',
  ]) {
    if (!lines.has(required)) problems.push(`.dockerignore does not exclude ${required}`);
  }
  const root = JSON.parse(readRepositoryFile('package.json')) as {
    dependencies?: Record<string, string>;
  };
  if (!root.dependencies?.tsx)
    problems.push('package.json: tsx runs the services, so it must be a dependency, not a dev one');
  problems.push(...facts.devOnlyRuntimeImports);
  return problems;
};

export const dockerfileChecks = {
  image: {
    title:
      'the image is multi-stage, slim, non-root, production-only, health-checked, runs cads run',
    run: image,
  },
  buildContext: {
    title:
      'the build context leaves out local data and credentials; runtime imports are production dependencies',
    run: context,
  },
} satisfies Record<string, Check>;
