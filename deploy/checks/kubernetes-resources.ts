import type { TypeMeta, TypeMetaGuard } from '@kubernetes-models/base';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { Check } from './check.ts';
import { consumers, placeholder, secretTemplateFile } from './rules.ts';
import { at, listOf, recordOf, textOf } from './sources.ts';
import {
  containersOf,
  label,
  named,
  ofKind,
  podLabels,
  type Resource,
  resolvePort,
  resources,
  securitySetting,
  selects,
  workloadKinds,
} from './workloads.ts';

type Rule = Check['run'];

interface Validating {
  validate(): void;
}

function validator<T extends TypeMeta>(model: {
  is: TypeMetaGuard<T>;
  new (data: T): Validating;
}): (value: unknown) => boolean {
  return (value) => {
    if (!model.is(value)) return false;
    new model(value).validate();
    return true;
  };
}

/** The Kubernetes API schemas (kubernetes-models) of the core kinds used here. */
const schemaValidators = [
  validator(Namespace),
  validator(ConfigMap),
  validator(Secret),
  validator(Service),
  validator(Deployment),
  validator(StatefulSet),
  validator(Job),
  validator(PodDisruptionBudget),
  validator(HorizontalPodAutoscaler),
  validator(Ingress),
  validator(NetworkPolicy),
];

/** Kinds without a schema here, checked field by field below. */
const customKinds = new Set([
  'postgresql.cnpg.io/v1 Cluster',
  'postgresql.cnpg.io/v1 Database',
  'kustomize.config.k8s.io/v1beta1 Kustomization',
]);

const wellFormed: Rule = ({ manifests }) => {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const resource of resources(manifests)) {
    const { object } = resource;
    if (typeof object.apiVersion !== 'string') problems.push(`${label(resource)}: no apiVersion`);
    if (resource.kind === '?') problems.push(`${label(resource)}: no kind`);
    // kustomization.yaml is read by kustomize, not applied: it needs no metadata.
    if (resource.kind === 'Kustomization') continue;
    if (resource.name === '?') problems.push(`${label(resource)}: no metadata.name`);
    const unnamespaced = resource.kind === 'Namespace';
    if (!unnamespaced && at(object, 'metadata', 'namespace') !== 'cads') {
      problems.push(`${label(resource)}: not in namespace cads`);
    }
    const key = `${resource.kind}/${resource.name}`;
    if (seen.has(key)) problems.push(`${label(resource)}: defined twice`);
    seen.add(key);
  }
  return problems;
};

const validAgainstSchemas: Rule = ({ manifests }) => {
  const problems: string[] = [];
  for (const resource of resources(manifests)) {
    const type = `${textOf(resource.object.apiVersion) ?? '?'} ${resource.kind}`;
    if (customKinds.has(type)) continue;
    try {
      if (!schemaValidators.some((validate) => validate(resource.object))) {
        problems.push(`${label(resource)}: no schema for ${type}`);
      }
    } catch (error) {
      problems.push(
        `${label(resource)}: invalid: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return problems;
};

const kustomization: Rule = ({ manifests, manifestFiles }, facts) => {
  const all = resources(manifests);
  const [file] = ofKind(all, 'Kustomization');
  if (!file) return ['no kustomization.yaml'];
  const listed = listOf(file.object.resources).map(String).sort();
  const expected = manifestFiles
    .filter((name) => name !== file.file && name !== secretTemplateFile)
    .sort();
  const problems: string[] = [];
  for (const name of expected) {
    if (!listed.includes(name)) problems.push(`kustomization.yaml does not list ${name}`);
  }
  for (const name of listed) {
    if (!expected.includes(name))
      problems.push(`kustomization.yaml lists ${name}, which must not be applied`);
  }
  const [, tag] = facts.image.split(':');
  const image = listOf(file.object.images)
    .map(recordOf)
    .find((entry) => entry.name === 'cads');
  if (image?.newTag !== tag)
    problems.push(`kustomization.yaml: image cads must have newTag ${tag}`);
  return problems;
};

/** Requests and limits, non-root, no privilege escalation, no capabilities: every container. */
const containersHardened: Rule = ({ manifests }) => {
  const all = resources(manifests);
  const problems: string[] = [];
  for (const workload of all.filter((resource) =>
    workloadKinds.some((kind) => kind === resource.kind),
  )) {
    const longRunning = workload.kind !== 'Job';
    for (const container of containersOf(workload)) {
      const where = `${label(workload)} container ${textOf(container.name) ?? '?'}`;
      const image = textOf(container.image) ?? '';
      if (!/^[\w./-]+:[\w.-]+(@sha256:[a-f0-9]{64})?$/.test(image) || image.endsWith(':latest')) {
        problems.push(`${where}: image '${image}' has no pinned tag`);
      }
      for (const section of ['requests', 'limits']) {
        for (const resource of ['cpu', 'memory']) {
          if (at(container, 'resources', section, resource) === undefined) {
            problems.push(`${where}: no resources.${section}.${resource}`);
          }
        }
      }
      if (securitySetting(workload, container, 'runAsNonRoot') !== true) {
        problems.push(`${where}: runAsNonRoot is not true`);
      }
      if (securitySetting(workload, container, 'runAsUser') === 0)
        problems.push(`${where}: runs as uid 0`);
      if (at(container, 'securityContext', 'allowPrivilegeEscalation') !== false) {
        problems.push(`${where}: allowPrivilegeEscalation is not false`);
      }
      if (!listOf(at(container, 'securityContext', 'capabilities', 'drop')).includes('ALL')) {
        problems.push(`${where}: capabilities are not all dropped`);
      }
      if (at(container, 'securityContext', 'readOnlyRootFilesystem') !== true) {
        problems.push(`${where}: root file system is writable`);
      }
      if (!longRunning) continue;
      if (listOf(container.ports).length === 0) problems.push(`${where}: declares no ports`);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const port = at(container, probe, 'httpGet', 'port');
        if (at(container, probe) === undefined) problems.push(`${where}: no ${probe}`);
        else if (port !== undefined && resolvePort(container, port) === undefined) {
          problems.push(
            `${where}: ${probe} targets port ${JSON.stringify(port)}, which is not declared`,
          );
        }
      }
    }
  }
  return problems;
};

/** The Secret template holds placeholders only, and no other manifest holds a Secret. */
const secretsArePlaceholders: Rule = ({ manifests }) => {
  const problems: string[] = [];
  for (const secret of ofKind(resources(manifests), 'Secret')) {
    if (secret.file !== secretTemplateFile) {
      problems.push(
        `${label(secret)}: Secrets belong in ${secretTemplateFile} (placeholders only)`,
      );
    }
    if (at(secret.object, 'data') !== undefined)
      problems.push(`${label(secret)}: use stringData placeholders`);
    for (const [key, value] of Object.entries(recordOf(at(secret.object, 'stringData')))) {
      const isUsername =
        at(secret.object, 'type') === 'kubernetes.io/basic-auth' && key === 'username';
      if (!isUsername && value !== placeholder)
        problems.push(`${label(secret)}: ${key} is not the placeholder ${placeholder}`);
    }
  }
  return problems;
};

function minimumReplicas(all: readonly Resource[], workload: Resource): number {
  const autoscaler = ofKind(all, 'HorizontalPodAutoscaler').find(
    (hpa) => at(hpa.object, 'spec', 'scaleTargetRef', 'name') === workload.name,
  );
  const replicas =
    at(autoscaler?.object, 'spec', 'minReplicas') ?? at(workload.object, 'spec', 'replicas') ?? 1;
  return typeof replicas === 'number' ? replicas : 1;
}

/**
 * Every long-running workload has a PodDisruptionBudget that selects it and lets drains proceed.
 */
const disruptionBudgets: Rule = ({ manifests }) => {
  const all = resources(manifests);
  const workloads = all.filter(
    (resource) => resource.kind === 'Deployment' || resource.kind === 'StatefulSet',
  );
  const problems: string[] = [];
  const covered = new Set<Resource>();
  for (const budget of ofKind(all, 'PodDisruptionBudget')) {
    const selector = at(budget.object, 'spec', 'selector');
    const targets = workloads.filter((workload) => selects(selector, podLabels(workload)));
    if (targets.length !== 1) {
      problems.push(`${label(budget)}: selects ${targets.length} workloads, not one`);
      continue;
    }
    const [target] = targets as [Resource];
    covered.add(target);
    const minAvailable = at(budget.object, 'spec', 'minAvailable');
    const maxUnavailable = at(budget.object, 'spec', 'maxUnavailable');
    const drainable =
      typeof minAvailable === 'number'
        ? minAvailable < minimumReplicas(all, target)
        : typeof maxUnavailable === 'number' && maxUnavailable >= 1;
    if (!drainable)
      problems.push(`${label(budget)}: would block every eviction of ${label(target)}`);
  }
  for (const workload of workloads) {
    if (!covered.has(workload)) problems.push(`${label(workload)}: no PodDisruptionBudget`);
  }
  return problems;
};

/** The consumers, and only they, scale on CPU through autoscaling/v2. */
const autoscaling: Rule = ({ manifests }) => {
  const all = resources(manifests);
  const problems: string[] = [];
  const targets: string[] = [];
  for (const autoscaler of ofKind(all, 'HorizontalPodAutoscaler')) {
    const reference = recordOf(at(autoscaler.object, 'spec', 'scaleTargetRef'));
    const target = named(all, textOf(reference.kind) ?? '', textOf(reference.name) ?? '');
    if (at(autoscaler.object, 'apiVersion') !== 'autoscaling/v2')
      problems.push(`${label(autoscaler)}: use autoscaling/v2`);
    if (!target || reference.kind !== 'Deployment' || reference.apiVersion !== 'apps/v1') {
      problems.push(
        `${label(autoscaler)}: targets no Deployment (${String(reference.kind)}/${String(reference.name)})`,
      );
      continue;
    }
    targets.push(target.name);
    const min = at(autoscaler.object, 'spec', 'minReplicas');
    const max = at(autoscaler.object, 'spec', 'maxReplicas');
    if (typeof min !== 'number' || min < 2 || typeof max !== 'number' || max <= min) {
      problems.push(`${label(autoscaler)}: needs 2 ≤ minReplicas < maxReplicas`);
    }
    if (at(target.object, 'spec', 'replicas') !== undefined) {
      problems.push(`${label(target)}: sets replicas, which fights its HorizontalPodAutoscaler`);
    }
    const usesCpu = listOf(at(autoscaler.object, 'spec', 'metrics')).some(
      (metric) => at(metric, 'resource', 'name') === 'cpu',
    );
    const requestsCpu = containersOf(target).every(
      (container) => at(container, 'resources', 'requests', 'cpu') !== undefined,
    );
    if (usesCpu && !requestsCpu)
      problems.push(`${label(target)}: CPU utilisation needs CPU requests`);
  }
  if (targets.sort().join() !== [...consumers].sort().join()) {
    problems.push(
      `HorizontalPodAutoscalers target ${targets.join(', ') || 'nothing'}, not ${consumers.join(', ')}`,
    );
  }
  return problems;
};

/** The Ingress reaches the BFF's Service port and keeps SSE and WebSocket connections open. */
const ingress: Rule = ({ manifests }) => {
  const all = resources(manifests);
  const [entry] = ofKind(all, 'Ingress');
  if (!entry) return ['no Ingress'];
  const problems: string[] = [];
  const bff = named(all, 'Service', 'bff');
  const ports = listOf(at(bff?.object, 'spec', 'ports')).map(recordOf);
  const backends = listOf(at(entry.object, 'spec', 'rules')).flatMap((rule) =>
    listOf(at(rule, 'http', 'paths')).map((path) => recordOf(at(path, 'backend', 'service'))),
  );
  if (backends.length === 0) problems.push(`${label(entry)}: no backend`);
  for (const backend of backends) {
    const port = recordOf(backend.port);
    const reachable = ports.some(
      (declared) =>
        declared.port === port.number || (port.name !== undefined && declared.name === port.name),
    );
    if (backend.name !== 'bff' || !reachable) {
      problems.push(
        `${label(entry)}: routes to ${String(backend.name)}:${String(port.number ?? port.name)}, not a port of Service bff`,
      );
    }
  }
  const annotations = recordOf(at(entry.object, 'metadata', 'annotations'));
  const prefix = 'nginx.ingress.kubernetes.io/';
  if (annotations[`${prefix}proxy-buffering`] !== 'off')
    problems.push(`${label(entry)}: proxy-buffering must be off (SSE)`);
  for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) {
    if (!(Number(annotations[`${prefix}${timeout}`]) >= 3600)) {
      problems.push(`${label(entry)}: ${timeout} must be at least 3600 s (live connections)`);
    }
  }
  if (listOf(at(entry.object, 'spec', 'tls')).length === 0)
    problems.push(`${label(entry)}: no TLS`);
  return problems;
};

export const kubernetesResourceChecks = {
  manifestsWellFormed: {
    title: 'every document has apiVersion, kind, metadata.name and the namespace',
    run: wellFormed,
  },
  manifestsValid: {
    title: 'the core resources are valid against the Kubernetes API schemas',
    run: validAgainstSchemas,
  },
  kustomization: {
    title: 'kustomization.yaml applies every manifest but the Secret template, and tags the image',
    run: kustomization,
  },
  containersHardened: {
    title: 'every container has resources, runs as non-root without privileges; servers are probed',
    run: containersHardened,
  },
  secretTemplate: {
    title: 'the Secret template holds placeholders only, and no other manifest holds a Secret',
    run: secretsArePlaceholders,
  },
  disruptionBudgets: {
    title: 'PodDisruptionBudgets cover every workload, select one each and allow drains',
    run: disruptionBudgets,
  },
  autoscaling: {
    title: "HorizontalPodAutoscalers (autoscaling/v2) scale exactly the consumers' Deployments",
    run: autoscaling,
  },
  ingress: {
    title: "the Ingress routes to the bff Service's port, unbuffered, with long timeouts",
    run: ingress,
  },
} satisfies Record<string, Check>;
