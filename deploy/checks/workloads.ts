import { at, isRecord, listOf, type ManifestDocument, recordOf, textOf } from './sources.ts';

/** A manifest document with its identity, for messages: `nats.yaml StatefulSet/nats`. */
export interface Resource {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly object: Record<string, unknown>;
}

export function resources(manifests: readonly ManifestDocument[]): Resource[] {
  return manifests.map(({ file, object }) => ({
    file,
    kind: textOf(at(object, 'kind')) ?? '?',
    name: textOf(at(object, 'metadata', 'name')) ?? '?',
    object: recordOf(object),
  }));
}

export function label(resource: Resource): string {
  return `${resource.file} ${resource.kind}/${resource.name}`;
}

export function ofKind(all: readonly Resource[], kind: string): Resource[] {
  return all.filter((resource) => resource.kind === kind);
}

export function named(all: readonly Resource[], kind: string, name: string): Resource | undefined {
  return all.find((resource) => resource.kind === kind && resource.name === name);
}

export const workloadKinds = ['Deployment', 'StatefulSet', 'Job'] as const;

export function podSpec(workload: Resource): Record<string, unknown> {
  return recordOf(at(workload.object, 'spec', 'template', 'spec'));
}

export function podLabels(workload: Resource): Record<string, unknown> {
  return recordOf(at(workload.object, 'spec', 'template', 'metadata', 'labels'));
}

export function containersOf(workload: Resource): Record<string, unknown>[] {
  const spec = podSpec(workload);
  return [...listOf(spec.initContainers), ...listOf(spec.containers)].map(recordOf);
}

/** Whether `selector` (matchLabels, or a Service's plain map) selects pods with `labels`. */
export function selects(selector: unknown, labels: Record<string, unknown>): boolean {
  const matchLabels = recordOf(
    isRecord(at(selector, 'matchLabels')) ? at(selector, 'matchLabels') : selector,
  );
  const entries = Object.entries(matchLabels);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function expressionHolds(expression: Record<string, unknown>, labels: Record<string, unknown>) {
  const key = textOf(expression.key) ?? '';
  const present = Object.hasOwn(labels, key);
  const listed = listOf(expression.values).includes(labels[key]);
  switch (expression.operator) {
    case 'In':
      return present && listed;
    case 'NotIn':
      return !present || !listed;
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      return false;
  }
}

/**
 * Whether a LabelSelector (`matchLabels` and `matchExpressions`) selects pods with `labels`, as
 * a NetworkPolicy reads it: unlike `selects`, an empty or absent selector selects every pod.
 */
export function matchesLabelSelector(selector: unknown, labels: Record<string, unknown>): boolean {
  const matchLabels = Object.entries(recordOf(at(selector, 'matchLabels')));
  return (
    matchLabels.every(([key, value]) => labels[key] === value) &&
    listOf(at(selector, 'matchExpressions'))
      .map(recordOf)
      .every((expression) => expressionHolds(expression, labels))
  );
}

/** The container port a probe or Service targets by number or by name, if it is declared. */
export function resolvePort(container: Record<string, unknown>, port: unknown): number | undefined {
  const ports = listOf(container.ports).map(recordOf);
  const found = ports.find((declared) =>
    typeof port === 'number' ? declared.containerPort === port : declared.name === port,
  );
  return typeof found?.containerPort === 'number' ? found.containerPort : undefined;
}

export interface EnvironmentEntry {
  readonly name: string;
  readonly value?: string;
  readonly secret?: { readonly name: string; readonly key: string };
  readonly from: string;
}

/** Every variable a container gets: `env`, and the keys of the ConfigMaps/Secrets in `envFrom`. */
export function environmentOf(
  container: Record<string, unknown>,
  all: readonly Resource[],
): EnvironmentEntry[] {
  const entries: EnvironmentEntry[] = [];
  for (const source of listOf(container.envFrom)) {
    for (const [kind, key] of [
      ['ConfigMap', 'configMapRef'],
      ['Secret', 'secretRef'],
    ] as const) {
      const name = textOf(at(source, key, 'name'));
      if (name === undefined) continue;
      const target = named(all, kind, name);
      const data = { ...recordOf(target?.object.data), ...recordOf(target?.object.stringData) };
      for (const [variable, value] of Object.entries(data)) {
        entries.push({
          name: variable,
          from: `${kind} ${name}`,
          ...(kind === 'ConfigMap'
            ? { value: String(value) }
            : { secret: { name, key: variable } }),
        });
      }
    }
  }
  for (const variable of listOf(container.env).map(recordOf)) {
    const secretName = textOf(at(variable, 'valueFrom', 'secretKeyRef', 'name'));
    const secretKey = textOf(at(variable, 'valueFrom', 'secretKeyRef', 'key'));
    entries.push({
      name: textOf(variable.name) ?? '?',
      from: 'env',
      ...(typeof variable.value === 'string' ? { value: variable.value } : {}),
      ...(secretName && secretKey ? { secret: { name: secretName, key: secretKey } } : {}),
    });
  }
  return entries;
}

/** Pod-level settings apply to every container unless the container overrides them. */
export function securitySetting(
  workload: Resource,
  container: Record<string, unknown>,
  setting: string,
): unknown {
  return (
    at(container, 'securityContext', setting) ?? at(podSpec(workload), 'securityContext', setting)
  );
}

/** Whether a path in the container is writable (a mounted emptyDir or volume claim). */
export function writableMount(
  workload: Resource,
  container: Record<string, unknown>,
  path: string,
): boolean {
  const volumes = listOf(podSpec(workload).volumes).map(recordOf);
  const claims = listOf(at(workload.object, 'spec', 'volumeClaimTemplates')).map((claim) =>
    textOf(at(claim, 'metadata', 'name')),
  );
  return listOf(container.volumeMounts)
    .map(recordOf)
    .some((mount) => {
      if (mount.mountPath !== path || mount.readOnly === true) return false;
      const volume = volumes.find((candidate) => candidate.name === mount.name);
      return volume?.emptyDir !== undefined || claims.includes(textOf(mount.name));
    });
}
