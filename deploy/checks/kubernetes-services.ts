import { portOffsets, serviceNames, type ServiceName } from '../../apps/cli/src/system.ts';
import type { Check } from './check.ts';
import {
  allowedEnvironment,
  credentials,
  deploymentSecrets,
  parseUrl,
  secretTemplateFile,
} from './rules.ts';
import { at, listOf, recordOf, textOf } from './sources.ts';
import {
  containersOf,
  environmentOf,
  label,
  named,
  ofKind,
  podLabels,
  podSpec,
  resolvePort,
  resources,
  selects,
  writableMount,
} from './workloads.ts';

type Rule = Check['run'];

/** Each CADS service: a Deployment of the image on its port, probed on it, and a Service. */
const cadsServices: Rule = ({ manifests }, facts) => {
  const all = resources(manifests);
  const problems: string[] = [];
  for (const service of serviceNames) {
    const port = facts.basePort + portOffsets[service];
    const deployment = named(all, 'Deployment', service);
    if (!deployment) {
      problems.push(`no Deployment for ${service}`);
      continue;
    }
    const where = label(deployment);
    const containers = containersOf(deployment);
    const container = containers.find((candidate) => candidate.image === facts.image);
    if (!container || containers.length !== 1) {
      problems.push(`${where}: must run one container of ${facts.image}`);
      continue;
    }
    const args = listOf(container.args);
    if (args.length !== 1 || args[0] !== service)
      problems.push(`${where}: args must be [${service}]`);
    const http = listOf(container.ports)
      .map(recordOf)
      .find((declared) => declared.name === 'http');
    if (http?.containerPort !== port) problems.push(`${where}: port http must be ${port}`);
    const environment = environmentOf(container, all);
    const cadsPort = environment.find((entry) => entry.name === 'CADS_PORT');
    if (cadsPort?.value !== String(port)) {
      problems.push(
        `${where}: CADS_PORT is ${cadsPort?.value ?? 'unset'}, the container port ${port}`,
      );
    }
    for (const [probe, path] of [
      ['readinessProbe', '/ready'],
      ['livenessProbe', '/health'],
      ['startupProbe', '/health'],
    ] as const) {
      if (at(container, probe, 'httpGet', 'path') !== path) {
        problems.push(`${where}: ${probe} must GET ${path}`);
      }
      if (resolvePort(container, at(container, probe, 'httpGet', 'port')) !== port) {
        problems.push(`${where}: ${probe} must target port ${port}`);
      }
    }
    if (
      at(container, 'securityContext', 'readOnlyRootFilesystem') === true &&
      !writableMount(deployment, container, '/tmp')
    ) {
      problems.push(`${where}: read-only root without a writable /tmp (tsx caches there)`);
    }
    const names = new Set(environment.map((entry) => entry.name));
    for (const variable of facts.requiredEnvironment[service]) {
      if (!names.has(variable)) problems.push(`${where}: ${variable} is not set`);
    }
    const kubernetesService = named(all, 'Service', service);
    const servicePort = listOf(at(kubernetesService?.object, 'spec', 'ports'))
      .map(recordOf)
      .find((declared) => declared.port === port);
    if (!kubernetesService) problems.push(`no Service for ${service}`);
    else if (!selects(at(kubernetesService.object, 'spec', 'selector'), podLabels(deployment))) {
      problems.push(`${label(kubernetesService)}: selects no pod of ${where}`);
    } else if (
      !servicePort ||
      resolvePort(container, servicePort.targetPort ?? servicePort.port) !== port
    ) {
      problems.push(
        `${label(kubernetesService)}: must expose port ${port} to the container's ${port}`,
      );
    }
  }
  return problems;
};

/** The CADS containers get only variables the code reads; their Secrets are in the template. */
const environmentRead: Rule = ({ manifests }, facts) => {
  const all = resources(manifests);
  const problems: string[] = [];
  const template = all.filter((resource) => resource.file === secretTemplateFile);
  for (const deployment of ofKind(all, 'Deployment')) {
    for (const container of containersOf(deployment)) {
      if (container.image !== facts.image) continue;
      for (const entry of environmentOf(container, all)) {
        if (!facts.environmentRead.has(entry.name) && !(entry.name in allowedEnvironment)) {
          problems.push(
            `${label(deployment)}: ${entry.name} (${entry.from}) is not read by the code`,
          );
        }
        if (!entry.secret) continue;
        const secret = named(template, 'Secret', entry.secret.name);
        const keys = { ...recordOf(secret?.object.stringData), ...recordOf(secret?.object.data) };
        if (!(entry.secret.key in keys)) {
          problems.push(
            `${label(deployment)}: ${entry.name} refers to ${entry.secret.name}/${entry.secret.key}, missing from ${secretTemplateFile}`,
          );
        }
      }
    }
  }
  for (const configMap of ofKind(all, 'ConfigMap').filter(
    (resource) => resource.name === 'cads-config',
  )) {
    for (const key of Object.keys(recordOf(configMap.object.data))) {
      if (!facts.environmentRead.has(key) && !(key in allowedEnvironment)) {
        problems.push(`${label(configMap)}: ${key} is not read by the code`);
      }
    }
  }
  return problems;
};

/**
 * No credential is a value in a manifest: each comes from a Secret. The deployment-wide ones
 * reach every CADS container, all from one Secret key.
 */
const credentialsFromSecrets: Rule = ({ manifests }, facts) => {
  const all = resources(manifests);
  const problems: string[] = [];
  const keys = new Map<string, Set<string>>();
  for (const deployment of ofKind(all, 'Deployment')) {
    for (const container of containersOf(deployment)) {
      const environment = environmentOf(container, all);
      for (const entry of environment) {
        if (credentials.includes(entry.name) && !entry.secret) {
          problems.push(
            `${label(deployment)}: ${entry.name} is a credential, from ${entry.from}: take it from a Secret`,
          );
        }
      }
      if (container.image !== facts.image) continue;
      for (const variable of deploymentSecrets) {
        // A value instead of a Secret is reported above: these are credentials too.
        const entry = environment.find((candidate) => candidate.name === variable);
        if (!entry) problems.push(`${label(deployment)}: ${variable} is not set`);
        else if (entry.secret) {
          const key = `${entry.secret.name}/${entry.secret.key}`;
          keys.set(variable, (keys.get(variable) ?? new Set()).add(key));
        }
      }
    }
  }
  for (const [variable, from] of keys) {
    if (from.size > 1) {
      problems.push(
        `${variable} comes from ${[...from].join(' and ')}: every pod needs the same value`,
      );
    }
  }
  return problems;
};

/** URLs of other services point at their Service and port. */
const serviceUrls: Rule = ({ manifests }, facts) => {
  const all = resources(manifests);
  const problems: string[] = [];
  const targets: Partial<Record<string, ServiceName>> = {
    CADS_EXTERNALS_URL: 'externals',
    CADS_ORDER_URL: 'order',
    CADS_NOTIFICATIONS_URL: 'notifications',
  };
  for (const deployment of ofKind(all, 'Deployment')) {
    for (const container of containersOf(deployment)) {
      for (const entry of environmentOf(container, all)) {
        const expected = targets[entry.name];
        const url = parseUrl(entry.value);
        if (expected !== undefined) {
          const port = facts.basePort + portOffsets[expected];
          if (url?.protocol !== 'http:' || url.hostname !== expected || Number(url.port) !== port) {
            problems.push(
              `${label(deployment)}: ${entry.name}=${entry.value ?? ''} must be http://${expected}:${port}`,
            );
          } else if (
            !listOf(at(named(all, 'Service', expected)?.object, 'spec', 'ports')).some(
              (p) => at(p, 'port') === port,
            )
          ) {
            problems.push(
              `${label(deployment)}: ${entry.name}: Service ${expected} has no port ${port}`,
            );
          }
        }
        if (entry.name === 'CADS_BROKER_URL') {
          const broker = url && named(all, 'Service', url.hostname);
          const natsPods =
            broker &&
            ofKind(all, 'StatefulSet').find((set) =>
              selects(at(broker.object, 'spec', 'selector'), podLabels(set)),
            );
          const exposed = listOf(at(broker?.object, 'spec', 'ports')).some(
            (p) => at(p, 'port') === Number(url?.port),
          );
          if (url?.protocol !== 'nats:' || !natsPods || !exposed) {
            problems.push(
              `${label(deployment)}: CADS_BROKER_URL=${entry.value ?? ''} reaches no NATS Service port`,
            );
          }
        }
      }
    }
  }
  return problems;
};

/**
 * Each service's database: `cads_<service>` on the CloudNativePG primary, over TLS checked
 * against the cluster's CA, as the role its Secret names, which the Cluster manages.
 */
const databases: Rule = ({ manifests }) => {
  const all = resources(manifests);
  const problems: string[] = [];
  const [cluster] = ofKind(all, 'Cluster');
  if (!cluster) return ['no CloudNativePG Cluster'];
  if (at(cluster.object, 'apiVersion') !== 'postgresql.cnpg.io/v1') {
    problems.push(`${label(cluster)}: apiVersion must be postgresql.cnpg.io/v1`);
  }
  if (at(cluster.object, 'spec', 'instances') !== 3)
    problems.push(`${label(cluster)}: instances must be 3`);
  const template = all.filter((resource) => resource.file === secretTemplateFile);
  const roles = listOf(at(cluster.object, 'spec', 'managed', 'roles')).map(recordOf);
  for (const role of roles) {
    const secret = named(template, 'Secret', textOf(at(role, 'passwordSecret', 'name')) ?? '');
    if (!secret)
      problems.push(
        `${label(cluster)}: role ${String(role.name)} has no password Secret in ${secretTemplateFile}`,
      );
    else if (
      at(secret.object, 'type') !== 'kubernetes.io/basic-auth' ||
      at(secret.object, 'stringData', 'username') !== role.name
    ) {
      problems.push(
        `${label(secret)}: must be kubernetes.io/basic-auth with username ${String(role.name)}`,
      );
    }
  }
  for (const service of serviceNames) {
    const name = `cads_${service}`;
    const database = ofKind(all, 'Database').find(
      (resource) => at(resource.object, 'spec', 'name') === name,
    );
    if (!database) problems.push(`no CloudNativePG Database ${name}`);
    else if (
      at(database.object, 'spec', 'owner') !== name ||
      at(database.object, 'spec', 'cluster', 'name') !== cluster.name
    ) {
      problems.push(`${label(database)}: must be owned by ${name} in Cluster ${cluster.name}`);
    }
    const deployment = named(all, 'Deployment', service);
    const container = deployment && containersOf(deployment)[0];
    if (!deployment || !container) continue;
    const where = label(deployment);
    const environment = environmentOf(container, all);
    const url = parseUrl(environment.find((entry) => entry.name === 'CADS_DATABASE_URL')?.value);
    const password = environment.find((entry) => entry.name === 'PGPASSWORD')?.secret;
    const role = roles.find(
      (candidate) => at(candidate, 'passwordSecret', 'name') === password?.name,
    );
    if (!url || !['postgres:', 'postgresql:'].includes(url.protocol)) {
      problems.push(`${where}: CADS_DATABASE_URL is not a postgres:// URL`);
      continue;
    }
    if (url.pathname !== `/${name}`)
      problems.push(`${where}: CADS_DATABASE_URL must name database ${name}`);
    if (url.hostname !== `${cluster.name}-rw`)
      problems.push(`${where}: CADS_DATABASE_URL must reach the primary, ${cluster.name}-rw`);
    if (url.password !== '')
      problems.push(`${where}: CADS_DATABASE_URL must not hold the password`);
    if (!password || !role || role.name !== name || url.username !== name) {
      problems.push(
        `${where}: must log in as ${name}, with PGPASSWORD from the Secret of that managed role`,
      );
    }
    const rootCertificate = url.searchParams.get('sslrootcert') ?? '';
    const caMount = listOf(container.volumeMounts)
      .map(recordOf)
      .find((mount) => rootCertificate.startsWith(`${String(mount.mountPath)}/`));
    const caVolume = listOf(podSpec(deployment).volumes)
      .map(recordOf)
      .find((volume) => volume.name === caMount?.name);
    if (
      url.searchParams.get('sslmode') !== 'verify-full' ||
      at(caVolume, 'secret', 'secretName') !== `${cluster.name}-ca`
    ) {
      problems.push(
        `${where}: CADS_DATABASE_URL must verify the server (sslmode=verify-full, sslrootcert in the mounted ${cluster.name}-ca)`,
      );
    }
  }
  return problems;
};

/** A three-node JetStream cluster whose stream gets three replicas, with the code's settings. */
const nats: Rule = ({ manifests }, facts) => {
  const all = resources(manifests);
  const set = named(all, 'StatefulSet', 'nats');
  if (!set) return ['no StatefulSet nats'];
  const problems: string[] = [];
  const where = label(set);
  if (at(set.object, 'spec', 'replicas') !== 3) problems.push(`${where}: replicas must be 3`);
  const headlessName = textOf(at(set.object, 'spec', 'serviceName')) ?? '';
  const headless = named(all, 'Service', headlessName);
  if (
    !headless ||
    at(headless.object, 'spec', 'clusterIP') !== 'None' ||
    at(headless.object, 'spec', 'publishNotReadyAddresses') !== true
  ) {
    problems.push(
      `${where}: serviceName must be a headless Service publishing not-ready addresses`,
    );
  }
  const container = containersOf(set)[0] ?? {};
  const config =
    textOf(at(named(all, 'ConfigMap', 'nats-config')?.object, 'data', 'nats.conf')) ?? '';
  const clusterPort = resolvePort(container, 'cluster');
  for (let index = 0; index < 3; index++) {
    const route = `nats://${set.name}-${index}.${headlessName}:${String(clusterPort)}`;
    if (!config.includes(route)) problems.push(`nats.conf: no route ${route}`);
  }
  const storeDirectory = /store_dir:\s*(\S+)/.exec(config)?.[1];
  const claims = listOf(at(set.object, 'spec', 'volumeClaimTemplates')).map((claim) =>
    at(claim, 'metadata', 'name'),
  );
  const storeMount = listOf(container.volumeMounts)
    .map(recordOf)
    .find((mount) => mount.mountPath === storeDirectory);
  if (!storeMount || !claims.includes(storeMount.name))
    problems.push(`${where}: JetStream store_dir must be on a volume claim`);
  const serverName = environmentOf(container, all).find((entry) => entry.name === 'SERVER_NAME');
  if (
    !/server_name:\s*\$SERVER_NAME/.test(config) ||
    serverName?.from !== 'env' ||
    at(
      listOf(container.env)
        .map(recordOf)
        .find((entry) => entry.name === 'SERVER_NAME'),
      'valueFrom',
      'fieldRef',
      'fieldPath',
    ) !== 'metadata.name'
  ) {
    problems.push(`${where}: server_name must be the pod name`);
  }
  const job = ofKind(all, 'Job').find((candidate) =>
    JSON.stringify(candidate.object).includes('nats stream'),
  );
  const script = listOf(containersOf(job ?? set)[0]?.command).join(' ');
  const { stream, subjectPrefix, duplicateWindowMs } = facts.natsStream;
  const expected = [
    `nats stream add ${stream}`,
    `--subjects '${subjectPrefix}.>'`,
    '--storage file',
    '--retention limits',
    `--dupe-window ${duplicateWindowMs / 60_000}m`,
    '--replicas 3',
    `nats stream edit ${stream} --replicas 3`,
  ];
  for (const part of expected) {
    if (!script.includes(part)) problems.push(`the stream Job must run '${part}'`);
  }
  return problems;
};

export const kubernetesServiceChecks = {
  kubernetesServices: {
    title:
      'every CADS service has a Deployment on its port, probed on /ready and /health, and a Service',
    run: cadsServices,
  },
  kubernetesEnvironment: {
    title: 'the CADS containers get only variables the code reads, Secrets from the template',
    run: environmentRead,
  },
  kubernetesCredentials: {
    title:
      'credentials come from Secrets; every CADS container reads CADS_INTERNAL_SECRET from the same key',
    run: credentialsFromSecrets,
  },
  kubernetesUrls: {
    title: 'service URLs reach the Service and port of the service they name; the broker is NATS',
    run: serviceUrls,
  },
  databases: {
    title:
      'each service logs in to its own database on the CloudNativePG cluster over verified TLS',
    run: databases,
  },
  nats: {
    title:
      "NATS is a 3-node JetStream cluster and the stream gets 3 replicas with the code's settings",
    run: nats,
  },
} satisfies Record<string, Check>;
