import {
  isServiceName,
  portOffsets,
  serviceNames,
  type ServiceName,
} from '../../apps/cli/src/system.ts';
import type { Check } from './check.ts';
import type { CodeFacts } from './code-facts.ts';
import {
  allowedEnvironment,
  consumers,
  credentials,
  deploymentSecrets,
  internalCallers,
  parseUrl,
  publicService,
} from './rules.ts';
import { at, listOf, recordOf } from './sources.ts';

type Rule = Check['run'];

interface ComposeService {
  readonly name: string;
  readonly definition: Record<string, unknown>;
  readonly environment: Record<string, string>;
}

function composeServices(compose: unknown): ComposeService[] {
  return Object.entries(recordOf(at(compose, 'services'))).map(([name, value]) => {
    const definition = recordOf(value);
    const environment = Object.fromEntries(
      Object.entries(recordOf(definition.environment)).map(([key, entry]) => [key, String(entry)]),
    );
    return { name, definition, environment };
  });
}

/** The compose services running `cads run <service>` from the image. */
function instancesOf(all: readonly ComposeService[], service: ServiceName, image: string) {
  return all.filter(
    ({ definition }) =>
      definition.image === image &&
      listOf(definition.command).length === 1 &&
      listOf(definition.command)[0] === service,
  );
}

function portOf(service: ServiceName, facts: CodeFacts): number {
  return facts.basePort + portOffsets[service];
}

const interpolation = /^\$\{([A-Z][A-Z0-9_]*):\?[^}]*\}$/;

/** Every CADS service runs from the image with the variables it needs, and only those. */
const cadsServices: Rule = ({ compose }, facts) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  for (const service of serviceNames) {
    const instances = instancesOf(all, service, facts.image);
    if (instances.length === 0) problems.push(`compose: no service runs ${facts.image} ${service}`);
    if (service === 'bff' && instances.length < 2)
      problems.push('compose: the BFF needs two instances');
    for (const { name, definition, environment } of instances) {
      const where = `compose service ${name}`;
      if (
        at(definition, 'build', 'context') !== '..' ||
        at(definition, 'build', 'dockerfile') !== 'deploy/Dockerfile'
      ) {
        problems.push(`${where}: must build deploy/Dockerfile from the repository root`);
      }
      if (environment.CADS_PORT !== String(portOf(service, facts))) {
        problems.push(`${where}: CADS_PORT must be ${portOf(service, facts)}`);
      }
      for (const variable of facts.requiredEnvironment[service]) {
        if (environment[variable] === undefined) problems.push(`${where}: ${variable} is not set`);
      }
      for (const variable of Object.keys(environment)) {
        if (!facts.environmentRead.has(variable) && !(variable in allowedEnvironment)) {
          problems.push(`${where}: ${variable} is not read by the code`);
        }
      }
      for (const variable of credentials) {
        const value = environment[variable];
        if (value !== undefined && !interpolation.test(value)) {
          problems.push(`${where}: ${variable} must come from deploy/.env as \${VAR:?…}`);
        }
      }
      if (
        definition.read_only === true &&
        !listOf(definition.tmpfs).some((mount) => String(mount).split(':')[0] === '/tmp')
      ) {
        problems.push(`${where}: read-only without a tmpfs on /tmp (tsx caches there)`);
      }
      const database = parseUrl(environment.CADS_DATABASE_URL);
      const user = `cads_${service}`;
      if (
        database?.hostname !== 'postgres' ||
        database.pathname !== `/${user}` ||
        database.username !== user ||
        database.password !== ''
      ) {
        problems.push(
          `${where}: CADS_DATABASE_URL must be postgres://${user}@postgres:5432/${user}, password in PGPASSWORD`,
        );
      }
      const passwordVariable = interpolation.exec(environment.PGPASSWORD ?? '')?.[1];
      const postgresEnvironment =
        composeServices(compose).find((candidate) => candidate.name === 'postgres')?.environment ??
        {};
      if (
        passwordVariable !== `CADS_DB_PASSWORD_${service.toUpperCase()}` ||
        postgresEnvironment[passwordVariable] === undefined
      ) {
        problems.push(
          `${where}: PGPASSWORD must be \${CADS_DB_PASSWORD_${service.toUpperCase()}:?…}, also given to postgres`,
        );
      }
    }
  }
  return problems;
};

/** URLs of other services name a compose service listening on that port; the broker is NATS. */
const serviceUrls: Rule = ({ compose }, facts) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  const targets: Record<string, ServiceName> = {
    CADS_EXTERNALS_URL: 'externals',
    CADS_ORDER_URL: 'order',
    CADS_NOTIFICATIONS_URL: 'notifications',
  };
  for (const { name, environment } of all) {
    for (const [variable, value] of Object.entries(environment)) {
      const url = parseUrl(value);
      const target = targets[variable];
      if (target !== undefined) {
        const listening = all.find((candidate) => candidate.name === url?.hostname);
        if (
          !listening ||
          instancesOf([listening], target, facts.image).length !== 1 ||
          Number(url?.port) !== portOf(target, facts)
        ) {
          problems.push(
            `compose service ${name}: ${variable}=${value} must be http://${target}:${portOf(target, facts)}`,
          );
        }
      }
      if (
        variable === 'CADS_BROKER_URL' &&
        (url?.protocol !== 'nats:' ||
          !all.some(
            (candidate) =>
              candidate.name === url.hostname &&
              String(candidate.definition.image).startsWith('nats:'),
          ))
      ) {
        problems.push(`compose service ${name}: CADS_BROKER_URL=${value} reaches no NATS service`);
      }
    }
  }
  return problems;
};

/** depends_on waits for health, and every dependency has a health check. */
const startOrder: Rule = ({ compose }, facts) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  for (const { name, definition } of all) {
    for (const [dependency, condition] of Object.entries(recordOf(definition.depends_on))) {
      const target = all.find((candidate) => candidate.name === dependency);
      if (at(condition, 'condition') !== 'service_healthy') {
        problems.push(
          `compose service ${name}: depends_on ${dependency} must wait for service_healthy`,
        );
      }
      const checked =
        target?.definition.image === facts.image ||
        at(target?.definition, 'healthcheck', 'test') !== undefined;
      if (!target || !checked)
        problems.push(
          `compose service ${name}: depends on ${dependency}, which has no health check`,
        );
    }
  }
  return problems;
};

/** The consumers scale: replicas, no container name or host port that two copies would share. */
const scalableConsumers: Rule = ({ compose }, facts) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  for (const service of consumers) {
    for (const { name, definition } of instancesOf(all, service, facts.image)) {
      if (definition.container_name !== undefined)
        problems.push(`compose service ${name}: a container_name prevents --scale`);
      if (listOf(definition.ports).length > 0)
        problems.push(`compose service ${name}: a host port prevents --scale`);
      const replicas = at(definition, 'deploy', 'replicas');
      if (typeof replicas !== 'number' || replicas < 2)
        problems.push(`compose service ${name}: deploy.replicas must be at least 2`);
    }
  }
  return problems;
};

function namedVolumeAt(
  compose: unknown,
  definition: Record<string, unknown>,
  path: string,
): boolean {
  const declared = Object.keys(recordOf(at(compose, 'volumes')));
  return listOf(definition.volumes).some((volume) => {
    const [source, target] = String(volume).split(':');
    return target === path && declared.includes(source ?? '');
  });
}

/** PostgreSQL with a database per service and NATS with JetStream, both on named volumes. */
const infrastructure: Rule = ({ compose, postgresInit }) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  const postgres = all.find(({ name }) => name === 'postgres')?.definition;
  if (!postgres) return ['compose: no postgres service'];
  if (!namedVolumeAt(compose, postgres, '/var/lib/postgresql/data'))
    problems.push('compose service postgres: data not on a named volume');
  if (at(postgres, 'healthcheck', 'test') === undefined)
    problems.push('compose service postgres: no health check');
  const initMounted = listOf(postgres.volumes).some((volume) => {
    const [source, target] = String(volume).split(':');
    return (
      source === './postgres/init-databases.sh' &&
      (target ?? '').startsWith('/docker-entrypoint-initdb.d/')
    );
  });
  if (!initMounted)
    problems.push('compose service postgres: postgres/init-databases.sh is not an init script');
  const listed = /^services=\(([^)]*)\)/m.exec(postgresInit)?.[1]?.trim().split(/\s+/) ?? [];
  if ([...listed].sort().join() !== [...serviceNames].sort().join()) {
    problems.push(
      `init-databases.sh creates databases for ${listed.join(', ')}, not ${serviceNames.join(', ')}`,
    );
  }
  if (!/create database :"name" owner :"name"/.test(postgresInit))
    problems.push('init-databases.sh: each database must be owned by its role');
  const nats = all.find(({ name }) => name === 'nats')?.definition;
  if (!nats) return [...problems, 'compose: no nats service'];
  const command = listOf(nats.command).map(String);
  const storeDirectory =
    command[command.findIndex((part) => part === '-sd' || part === '--store_dir') + 1];
  if (!command.includes('-js') && !command.includes('--jetstream'))
    problems.push('compose service nats: JetStream is not enabled (-js)');
  if (!storeDirectory || !namedVolumeAt(compose, nats, storeDirectory))
    problems.push('compose service nats: the JetStream store is not on a named volume');
  if (at(nats, 'healthcheck', 'test') === undefined)
    problems.push('compose service nats: no health check');
  return problems;
};

/** The service running caddy/Caddyfile: the entry point. */
function proxyOf(all: readonly ComposeService[]): ComposeService | undefined {
  return all.find(({ definition }) =>
    listOf(definition.volumes).some((volume) => String(volume).startsWith('./caddy/Caddyfile:')),
  );
}

/** Caddy balances round robin over every BFF instance, flushing SSE at once. */
const proxy: Rule = ({ compose, caddyfile }, facts) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  const entry = proxyOf(all);
  if (!entry) return ['compose: no service runs caddy/Caddyfile'];
  if (listOf(entry.definition.ports).length === 0)
    problems.push(`compose service ${entry.name}: publishes no port`);
  const upstreams =
    /reverse_proxy\s+([^{\n]+)\{/.exec(caddyfile)?.[1]?.trim().split(/\s+/).sort() ?? [];
  const instances = instancesOf(all, 'bff', facts.image)
    .map(({ name }) => `${name}:${portOf('bff', facts)}`)
    .sort();
  if (upstreams.join() !== instances.join()) {
    problems.push(
      `Caddyfile: reverse_proxy to ${upstreams.join(' ')}, not to every BFF instance (${instances.join(' ')})`,
    );
  }
  if (!/^\s*lb_policy round_robin$/m.test(caddyfile))
    problems.push('Caddyfile: lb_policy must be round_robin');
  if (!/^\s*flush_interval -1$/m.test(caddyfile))
    problems.push('Caddyfile: flush_interval -1 (SSE) is missing');
  return problems;
};

/** The deployment-wide secrets reach every CADS service from the one variable of deploy/.env. */
const sharedSecrets: Rule = ({ compose }, facts) => {
  const all = composeServices(compose);
  const problems: string[] = [];
  for (const service of serviceNames) {
    for (const { name, environment } of instancesOf(all, service, facts.image)) {
      for (const variable of deploymentSecrets) {
        if (interpolation.exec(environment[variable] ?? '')?.[1] !== variable) {
          problems.push(
            `compose service ${name}: ${variable} must be \${${variable}:?…}, the same for every service`,
          );
        }
      }
    }
  }
  return problems;
};

/** The networks a compose service joins; without a list, the project's default network. */
function networksOf(definition: Record<string, unknown>): string[] {
  const networks = definition.networks;
  if (networks === undefined) return ['default'];
  return Array.isArray(networks) ? networks.map(String) : Object.keys(recordOf(networks));
}

function isInternal(compose: unknown, network: string): boolean {
  return at(compose, 'networks', network, 'internal') === true;
}

function shareNetwork(one: ComposeService, other: ComposeService): boolean {
  return networksOf(one.definition).some((network) =>
    networksOf(other.definition).includes(network),
  );
}

/** Each service reaches what it calls: caller and callee, every service and PostgreSQL, NATS. */
function reachability(all: readonly ComposeService[], image: string): string[] {
  const problems: string[] = [];
  const infrastructure = all.filter(({ name }) => name === 'postgres' || name === 'nats');
  for (const service of serviceNames) {
    const callees = Object.entries(internalCallers)
      .filter(([, callers]) => callers.includes(service))
      .flatMap(([callee]) => (isServiceName(callee) ? instancesOf(all, callee, image) : []));
    for (const instance of instancesOf(all, service, image)) {
      for (const callee of [...callees, ...infrastructure]) {
        if (!shareNetwork(instance, callee)) {
          problems.push(`compose service ${instance.name}: shares no network with ${callee.name}`);
        }
      }
    }
  }
  return problems;
}

/**
 * The proxy alone publishes a port, on a network it shares with the BFFs only; every other
 * service is on internal networks only (no way out, nothing published).
 */
const networks: Rule = ({ compose }, facts) => {
  const all = composeServices(compose);
  const entry = proxyOf(all);
  if (!entry) return ['compose: no service runs caddy/Caddyfile'];
  const problems: string[] = [];
  const edge = new Set([entry, ...instancesOf(all, publicService, facts.image)]);
  for (const service of all) {
    const where = `compose service ${service.name}`;
    if (service !== entry && listOf(service.definition.ports).length > 0)
      problems.push(`${where}: publishes a port; only the proxy (${entry.name}) may`);
    if (edge.has(service)) continue;
    for (const network of networksOf(service.definition)) {
      if (!isInternal(compose, network))
        problems.push(`${where}: on ${network}, which is not internal: true`);
    }
    if (shareNetwork(entry, service))
      problems.push(`${where}: shares a network with the proxy, which may reach the BFFs only`);
  }
  if (networksOf(entry.definition).every((network) => isInternal(compose, network)))
    problems.push(`compose service ${entry.name}: on internal networks only, it publishes nothing`);
  for (const bff of instancesOf(all, publicService, facts.image)) {
    if (!shareNetwork(entry, bff))
      problems.push(`compose service ${entry.name}: shares no network with ${bff.name}`);
  }
  return [...problems, ...reachability(all, facts.image)];
};

/** Credentials come from an uncommitted deploy/.env; .env.example names every one, empty. */
const environmentFile: Rule = ({ composeText, envExample, gitignore }) => {
  const problems: string[] = [];
  const example = new Map(
    envExample
      .split('\n')
      .filter((line) => /^[A-Z]/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const optional = new Set([...envExample.matchAll(/^# ([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  for (const [, variable, required] of composeText.matchAll(
    /(?<!\$)\$\{([A-Z][A-Z0-9_]*)(:\?)?/g,
  )) {
    if (example.has(variable!)) {
      // Named without a value in .env.example: compose must refuse to start without it.
      if (required === undefined) problems.push(`compose: \${${variable!}} must be required (:?)`);
    } else if (!optional.has(variable)) {
      problems.push(`.env.example does not name ${variable!}`);
    }
  }
  for (const [variable, value] of example) {
    if (value.trim() !== '') problems.push(`.env.example: ${variable} must be empty`);
  }
  if (!gitignore.split('\n').some((line) => line.trim() === '.env'))
    problems.push('.gitignore does not ignore .env');
  return problems;
};

export const composeChecks = {
  composeServices: {
    title: 'every CADS service runs from the image on its port with exactly the variables it needs',
    run: cadsServices,
  },
  composeUrls: {
    title: 'service URLs name the compose service and its port; the broker is NATS',
    run: serviceUrls,
  },
  composeStartOrder: { title: 'depends_on waits for healthy dependencies', run: startOrder },
  composeScaling: {
    title: 'restaurant, rider and payment scale (replicas, no container name, no host port)',
    run: scalableConsumers,
  },
  composeInfrastructure: {
    title:
      'PostgreSQL (a database per service) and NATS JetStream keep their data on named volumes',
    run: infrastructure,
  },
  composeProxy: {
    title: 'the proxy balances round robin over every BFF instance without buffering',
    run: proxy,
  },
  composeSharedSecrets: {
    title: 'every CADS service gets CADS_INTERNAL_SECRET from the same variable of deploy/.env',
    run: sharedSecrets,
  },
  composeNetworks: {
    title:
      'only the proxy publishes a port and shares a network with the BFFs; the rest is on internal networks',
    run: networks,
  },
  composeCredentials: {
    title: 'credentials come from the uncommitted deploy/.env that .env.example describes',
    run: environmentFile,
  },
} satisfies Record<string, Check>;
