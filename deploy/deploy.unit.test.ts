import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Check } from './checks/check.ts';
import { readCodeFacts } from './checks/code-facts.ts';
import { composeChecks } from './checks/compose.ts';
import { dockerfileChecks } from './checks/dockerfile.ts';
import { kubernetesResourceChecks } from './checks/kubernetes-resources.ts';
import { kubernetesServiceChecks } from './checks/kubernetes-services.ts';
import { networkPolicyChecks } from './checks/network-policies.ts';
import {
  at,
  type DeploymentSources,
  listOf,
  readDeploymentSources,
  recordOf,
} from './checks/sources.ts';

const facts = readCodeFacts();
const sources = readDeploymentSources();
const checks = {
  ...dockerfileChecks,
  ...composeChecks,
  ...kubernetesResourceChecks,
  ...kubernetesServiceChecks,
  ...networkPolicyChecks,
};
type CheckId = keyof typeof checks;

/** A check that throws on a broken file reports that as its problem. */
function run(check: Check, input: DeploymentSources): string[] {
  try {
    return check.run(input, facts);
  } catch (error) {
    return [`the check failed: ${error instanceof Error ? error.message : String(error)}`];
  }
}

describe('the deployment files agree with the code', () => {
  it.each(Object.values(checks))('$title', (check) => {
    expect(run(check, sources)).toEqual([]);
  });
});

describe('what the manifests rely on outside the code', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('node-postgres takes the password from PGPASSWORD when the URL has none', () => {
    vi.stubEnv('PGPASSWORD', 'from-the-environment');
    const client = new pg.Client({ connectionString: 'postgres://cads_order@db:5432/cads_order' });
    expect(client.user).toBe('cads_order');
    expect(client.password).toBe('from-the-environment');
  });
});

// Every check must fail on a broken deployment: each case breaks a copy of the files in one way
// and expects the named check to report it.
interface Breakage {
  readonly what: string;
  readonly check: CheckId;
  readonly reports: RegExp;
  readonly breakIt: (copy: Mutable) => void;
}

interface Mutable {
  manifests: Array<{ file: string; object: unknown }>;
  manifestFiles: string[];
  compose: unknown;
  composeText: string;
  dockerfile: string;
  dockerignore: string;
  gitignore: string;
  envExample: string;
  caddyfile: string;
  postgresInit: string;
}

function copyOf(original: DeploymentSources): Mutable {
  return structuredClone({
    ...original,
    manifests: [...original.manifests],
    manifestFiles: [...original.manifestFiles],
  });
}

/** The document of that kind and name (a Kustomization has no name: pass undefined). */
function manifest(copy: Mutable, kind: string, name: string | undefined): Record<string, unknown> {
  const found = copy.manifests.find(
    ({ object }) => at(object, 'kind') === kind && at(object, 'metadata', 'name') === name,
  );
  if (!found) throw new Error(`the test needs ${kind}/${name}`);
  return recordOf(found.object);
}

function container(copy: Mutable, deployment: string): Record<string, unknown> {
  return recordOf(
    listOf(
      at(manifest(copy, 'Deployment', deployment), 'spec', 'template', 'spec', 'containers'),
    )[0],
  );
}

function composeService(copy: Mutable, name: string): Record<string, unknown> {
  return recordOf(at(copy.compose, 'services', name));
}

function environment(copy: Mutable, name: string): Record<string, unknown> {
  return recordOf(composeService(copy, name).environment);
}

function environmentEntry(copy: Mutable, deployment: string, name: string) {
  const entry = listOf(container(copy, deployment).env).find((item) => at(item, 'name') === name);
  if (!entry) throw new Error(`the test needs ${name} in Deployment/${deployment}`);
  return recordOf(entry);
}

function ingressRules(copy: Mutable, policy: string): Record<string, unknown>[] {
  return listOf(at(manifest(copy, 'NetworkPolicy', policy), 'spec', 'ingress')).map(recordOf);
}

function withoutManifest(copy: Mutable, kind: string, name: string): void {
  manifest(copy, kind, name);
  copy.manifests = copy.manifests.filter(
    ({ object }) => !(at(object, 'kind') === kind && at(object, 'metadata', 'name') === name),
  );
}

function replaceIn(text: string, search: string | RegExp, replacement: string): string {
  const changed = text.replace(search, replacement);
  if (changed === text) throw new Error(`the test found no ${String(search)} to break`);
  return changed;
}

const breakages: Breakage[] = [
  {
    what: 'a document without metadata.name',
    check: 'manifestsWellFormed',
    reports: /no metadata\.name/,
    breakIt: (copy) => {
      delete recordOf(manifest(copy, 'Service', 'order').metadata).name;
    },
  },
  {
    what: 'a container port written as a string',
    check: 'manifestsValid',
    reports: /Deployment\/order: invalid/,
    breakIt: (copy) => {
      recordOf(listOf(container(copy, 'order').ports)[0]).containerPort = '3003';
    },
  },
  {
    what: 'a manifest left out of kustomization.yaml',
    check: 'kustomization',
    reports: /does not list rider\.yaml/,
    breakIt: (copy) => {
      const file = manifest(copy, 'Kustomization', undefined);
      file.resources = listOf(file.resources).filter((name) => name !== 'rider.yaml');
    },
  },
  {
    what: 'the Secret template applied by kustomize',
    check: 'kustomization',
    reports: /lists secrets\.example\.yaml/,
    breakIt: (copy) => {
      const file = manifest(copy, 'Kustomization', undefined);
      file.resources = [...listOf(file.resources), 'secrets.example.yaml'];
    },
  },
  {
    what: 'a container without memory limit',
    check: 'containersHardened',
    reports: /Deployment\/payment container payment: no resources\.limits\.memory/,
    breakIt: (copy) => {
      delete recordOf(at(container(copy, 'payment'), 'resources', 'limits')).memory;
    },
  },
  {
    what: 'a pod allowed to run as root',
    check: 'containersHardened',
    reports: /StatefulSet\/nats container nats: runAsNonRoot is not true/,
    breakIt: (copy) => {
      recordOf(
        at(manifest(copy, 'StatefulSet', 'nats'), 'spec', 'template', 'spec', 'securityContext'),
      ).runAsNonRoot = false;
    },
  },
  {
    what: 'a missing Deployment',
    check: 'kubernetesServices',
    reports: /no Deployment for bff/,
    breakIt: (copy) => {
      copy.manifests = copy.manifests.filter(
        ({ object }) =>
          !(at(object, 'kind') === 'Deployment' && at(object, 'metadata', 'name') === 'bff'),
      );
    },
  },
  {
    what: 'a readiness probe on the wrong path',
    check: 'kubernetesServices',
    reports: /Deployment\/order: readinessProbe must GET \/ready/,
    breakIt: (copy) => {
      recordOf(at(container(copy, 'order'), 'readinessProbe', 'httpGet')).path = '/health';
    },
  },
  {
    what: 'a liveness probe on another port',
    check: 'kubernetesServices',
    reports: /Deployment\/rider: livenessProbe must target port 3005/,
    breakIt: (copy) => {
      recordOf(at(container(copy, 'rider'), 'livenessProbe', 'httpGet')).port = 3000;
    },
  },
  {
    what: 'a container port that is not CADS_PORT',
    check: 'kubernetesServices',
    reports: /Deployment\/externals: port http must be 3001/,
    breakIt: (copy) => {
      recordOf(listOf(container(copy, 'externals').ports)[0]).containerPort = 3009;
    },
  },
  {
    what: 'another image',
    check: 'kubernetesServices',
    reports: /Deployment\/notifications: must run one container of cads:/,
    breakIt: (copy) => {
      container(copy, 'notifications').image = 'cads:0.0.9';
    },
  },
  {
    what: 'a setting the service needs left out',
    check: 'kubernetesServices',
    reports: /Deployment\/bff: CADS_SESSION_SECRET is not set/,
    breakIt: (copy) => {
      const bff = container(copy, 'bff');
      bff.env = listOf(bff.env).filter((entry) => at(entry, 'name') !== 'CADS_SESSION_SECRET');
    },
  },
  {
    what: 'a Service that selects no pod',
    check: 'kubernetesServices',
    reports: /Service\/payment: selects no pod/,
    breakIt: (copy) => {
      recordOf(at(manifest(copy, 'Service', 'payment'), 'spec', 'selector'))[
        'app.kubernetes.io/name'
      ] = 'paymnet';
    },
  },
  {
    what: 'a read-only root file system without /tmp',
    check: 'kubernetesServices',
    reports: /Deployment\/order: read-only root without a writable \/tmp/,
    breakIt: (copy) => {
      const order = container(copy, 'order');
      order.volumeMounts = listOf(order.volumeMounts).filter(
        (mount) => at(mount, 'mountPath') !== '/tmp',
      );
    },
  },
  {
    what: 'a variable no code reads',
    check: 'kubernetesEnvironment',
    reports: /CADS_DATABSE_URL \(env\) is not read by the code/,
    breakIt: (copy) => {
      listOf(container(copy, 'order').env).push({ name: 'CADS_DATABSE_URL', value: 'x' });
    },
  },
  {
    what: 'a ConfigMap key no code reads',
    check: 'kubernetesEnvironment',
    reports: /ConfigMap\/cads-config: CADS_BROKER is not read/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'ConfigMap', 'cads-config').data).CADS_BROKER = 'nats://nats:4222';
    },
  },
  {
    what: 'a secretKeyRef to a key the template lacks',
    check: 'kubernetesEnvironment',
    reports: /refers to cads-app\/SESSION_SECRET/,
    breakIt: (copy) => {
      const reference = listOf(container(copy, 'bff').env).find(
        (entry) => at(entry, 'name') === 'CADS_SESSION_SECRET',
      );
      recordOf(at(reference, 'valueFrom', 'secretKeyRef')).key = 'SESSION_SECRET';
    },
  },
  {
    what: 'a Deployment without the internal secret',
    check: 'kubernetesServices',
    reports: /Deployment\/rider: CADS_INTERNAL_SECRET is not set/,
    breakIt: (copy) => {
      const rider = container(copy, 'rider');
      rider.env = listOf(rider.env).filter((entry) => at(entry, 'name') !== 'CADS_INTERNAL_SECRET');
    },
  },
  {
    what: 'the internal secret written into a Deployment',
    check: 'kubernetesCredentials',
    reports: /Deployment\/order: CADS_INTERNAL_SECRET is a credential, from env/,
    breakIt: (copy) => {
      const entry = environmentEntry(copy, 'order', 'CADS_INTERNAL_SECRET');
      delete entry.valueFrom;
      entry.value = 'x'.repeat(32);
    },
  },
  {
    what: 'a session secret in the ConfigMap',
    check: 'kubernetesCredentials',
    reports: /Deployment\/bff: CADS_SESSION_SECRET is a credential, from ConfigMap cads-config/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'ConfigMap', 'cads-config').data).CADS_SESSION_SECRET = 'x';
    },
  },
  {
    what: 'one Deployment reading the internal secret from another key',
    check: 'kubernetesCredentials',
    reports:
      /CADS_INTERNAL_SECRET comes from cads-app\/CADS_INTERNAL_SECRET and cads-app\/CADS_SESSION_SECRET/,
    breakIt: (copy) => {
      const entry = environmentEntry(copy, 'payment', 'CADS_INTERNAL_SECRET');
      recordOf(at(entry, 'valueFrom', 'secretKeyRef')).key = 'CADS_SESSION_SECRET';
    },
  },
  {
    what: 'an internal service without a NetworkPolicy',
    check: 'networkPolicies',
    reports: /^notifications: no NetworkPolicy selects its pods/m,
    breakIt: (copy) => {
      withoutManifest(copy, 'NetworkPolicy', 'cads-services-default-deny');
      withoutManifest(copy, 'NetworkPolicy', 'notifications');
    },
  },
  {
    what: 'a consumer no longer under the default deny',
    check: 'networkPolicies',
    reports: /^rider: no NetworkPolicy selects its pods/m,
    breakIt: (copy) => {
      const [expression] = listOf(
        at(
          manifest(copy, 'NetworkPolicy', 'cads-services-default-deny'),
          'spec',
          'podSelector',
          'matchExpressions',
        ),
      );
      const values = recordOf(expression);
      values.values = listOf(values.values).filter((name) => name !== 'rider');
    },
  },
  {
    what: 'order open to a service that does not call it',
    check: 'networkPolicies',
    reports: /NetworkPolicy\/order: order admits notifications, not only bff/,
    breakIt: (copy) => {
      const [rule] = ingressRules(copy, 'order');
      listOf(rule?.from).push({
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'notifications' } },
      });
    },
  },
  {
    what: 'a consumer admitting the bff',
    check: 'networkPolicies',
    reports: /NetworkPolicy\/payment: payment admits bff, not only nobody/,
    breakIt: (copy) => {
      copy.manifests.push({
        file: 'network-policies.yaml',
        object: {
          ...structuredClone(manifest(copy, 'NetworkPolicy', 'order')),
          metadata: { name: 'payment', namespace: 'cads' },
          spec: {
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'payment' } },
            ingress: [
              {
                from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'bff' } } }],
                ports: [{ port: 3006 }],
              },
            ],
          },
        },
      });
    },
  },
  {
    what: 'externals open on every port',
    check: 'networkPolicies',
    reports: /NetworkPolicy\/externals: externals: a rule admits every port/,
    breakIt: (copy) => {
      delete ingressRules(copy, 'externals')[0]?.ports;
    },
  },
  {
    what: 'externals forgetting one of its callers',
    check: 'networkPolicies',
    reports: /externals's NetworkPolicies do not admit its caller payment on port 3001/,
    breakIt: (copy) => {
      const [rule] = ingressRules(copy, 'externals');
      if (!rule) throw new Error('the test needs a rule');
      rule.from = listOf(rule.from).filter(
        (peer) => at(peer, 'podSelector', 'matchLabels', 'app.kubernetes.io/name') !== 'payment',
      );
    },
  },
  {
    what: 'the bff open to every namespace',
    check: 'networkPolicies',
    reports: /NetworkPolicy\/bff: bff admits namespaces other than the ingress controller's/,
    breakIt: (copy) => {
      const [rule] = ingressRules(copy, 'bff');
      rule!.from = [{ namespaceSelector: {} }];
    },
  },
  {
    what: 'the bff open to the pods of its namespace',
    check: 'networkPolicies',
    reports: /bff admits pods of its own namespace/,
    breakIt: (copy) => {
      const [rule] = ingressRules(copy, 'bff');
      listOf(rule?.from).push({ podSelector: {} });
    },
  },
  {
    what: 'a service URL on the wrong port',
    check: 'kubernetesUrls',
    reports: /CADS_ORDER_URL=http:\/\/order:3004 must be http:\/\/order:3003/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'ConfigMap', 'cads-config').data).CADS_ORDER_URL =
        'http://order:3004';
    },
  },
  {
    what: 'a database URL naming another database',
    check: 'databases',
    reports: /Deployment\/rider: CADS_DATABASE_URL must name database cads_rider/,
    breakIt: (copy) => {
      const url = listOf(container(copy, 'rider').env).find(
        (entry) => at(entry, 'name') === 'CADS_DATABASE_URL',
      );
      recordOf(url).value = String(at(url, 'value')).replace('/cads_rider?', '/cads_order?');
    },
  },
  {
    what: 'a PostgreSQL cluster of one instance',
    check: 'databases',
    reports: /instances must be 3/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'Cluster', 'cads-pg').spec).instances = 1;
    },
  },
  {
    what: 'a real value in the Secret template',
    check: 'secretTemplate',
    reports: /CADS_ADMIN_TOKEN is not the placeholder/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'Secret', 'cads-app').stringData).CADS_ADMIN_TOKEN = 'hunter2';
    },
  },
  {
    what: 'a PodDisruptionBudget selecting nothing',
    check: 'disruptionBudgets',
    reports: /PodDisruptionBudget\/rider: selects 0 workloads/,
    breakIt: (copy) => {
      recordOf(
        at(manifest(copy, 'PodDisruptionBudget', 'rider'), 'spec', 'selector', 'matchLabels'),
      )['app.kubernetes.io/name'] = 'ridr';
    },
  },
  {
    what: 'a PodDisruptionBudget that blocks every drain',
    check: 'disruptionBudgets',
    reports: /PodDisruptionBudget\/order: would block every eviction/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'PodDisruptionBudget', 'order').spec).minAvailable = 2;
    },
  },
  {
    what: 'an autoscaler targeting a missing Deployment',
    check: 'autoscaling',
    reports: /HorizontalPodAutoscaler\/payment: targets no Deployment/,
    breakIt: (copy) => {
      recordOf(
        at(manifest(copy, 'HorizontalPodAutoscaler', 'payment'), 'spec', 'scaleTargetRef'),
      ).name = 'payments';
    },
  },
  {
    what: 'fixed replicas under an autoscaler',
    check: 'autoscaling',
    reports: /Deployment\/restaurant: sets replicas/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'Deployment', 'restaurant').spec).replicas = 2;
    },
  },
  {
    what: 'an Ingress to the wrong port',
    check: 'ingress',
    reports: /routes to bff:3001, not a port of Service bff/,
    breakIt: (copy) => {
      const path = listOf(
        at(listOf(at(manifest(copy, 'Ingress', 'bff'), 'spec', 'rules'))[0], 'http', 'paths'),
      )[0];
      recordOf(at(path, 'backend', 'service', 'port')).number = 3001;
    },
  },
  {
    what: 'an Ingress that buffers SSE',
    check: 'ingress',
    reports: /proxy-buffering must be off/,
    breakIt: (copy) => {
      delete recordOf(at(manifest(copy, 'Ingress', 'bff'), 'metadata', 'annotations'))[
        'nginx.ingress.kubernetes.io/proxy-buffering'
      ];
    },
  },
  {
    what: 'a single NATS server',
    check: 'nats',
    reports: /StatefulSet\/nats: replicas must be 3/,
    breakIt: (copy) => {
      recordOf(manifest(copy, 'StatefulSet', 'nats').spec).replicas = 1;
    },
  },
  {
    what: 'a stream Job with another dedup window than the code',
    check: 'nats',
    reports: /--dupe-window 2m/,
    breakIt: (copy) => {
      const job = recordOf(
        listOf(
          at(
            manifest(copy, 'Job', 'nats-stream-replicas'),
            'spec',
            'template',
            'spec',
            'containers',
          ),
        )[0],
      );
      job.command = listOf(job.command).map((part) =>
        String(part).replace('--dupe-window 2m', '--dupe-window 5m'),
      );
    },
  },
  {
    what: 'a compose service missing',
    check: 'composeServices',
    reports: /no service runs cads:[\d.]+ rider/,
    breakIt: (copy) => {
      delete recordOf(at(copy.compose, 'services')).rider;
    },
  },
  {
    what: 'a compose CADS_PORT that is not the service port',
    check: 'composeServices',
    reports: /compose service order: CADS_PORT must be 3003/,
    breakIt: (copy) => {
      environment(copy, 'order').CADS_PORT = '3000';
    },
  },
  {
    what: 'a password written into compose.yaml',
    check: 'composeServices',
    reports: /compose service payment: PGPASSWORD must come from deploy\/\.env/,
    breakIt: (copy) => {
      environment(copy, 'payment').PGPASSWORD = 'secret';
    },
  },
  {
    what: 'a compose URL to a service that is not there',
    check: 'composeUrls',
    reports: /CADS_EXTERNALS_URL=http:\/\/externals-1:3001/,
    breakIt: (copy) => {
      environment(copy, 'rider').CADS_EXTERNALS_URL = 'http://externals-1:3001';
    },
  },
  {
    what: 'a compose service without the internal secret',
    check: 'composeServices',
    reports: /compose service restaurant: CADS_INTERNAL_SECRET is not set/,
    breakIt: (copy) => {
      delete environment(copy, 'restaurant').CADS_INTERNAL_SECRET;
    },
  },
  {
    what: 'a compose service with another internal secret',
    check: 'composeSharedSecrets',
    reports:
      /compose service notifications: CADS_INTERNAL_SECRET must be \$\{CADS_INTERNAL_SECRET:\?…\}/,
    breakIt: (copy) => {
      environment(copy, 'notifications').CADS_INTERNAL_SECRET =
        '${CADS_SESSION_SECRET:?set it in deploy/.env}';
    },
  },
  {
    what: 'order on the edge network',
    check: 'composeNetworks',
    reports: /compose service order: on edge, which is not internal/,
    breakIt: (copy) => {
      composeService(copy, 'order').networks = ['edge', 'internal'];
    },
  },
  {
    what: 'an internal network with a way out',
    check: 'composeNetworks',
    reports: /compose service postgres: on internal, which is not internal/,
    breakIt: (copy) => {
      delete recordOf(at(copy.compose, 'networks', 'internal')).internal;
    },
  },
  {
    what: "the externals' admin port published again",
    check: 'composeNetworks',
    reports: /compose service externals: publishes a port; only the proxy/,
    breakIt: (copy) => {
      composeService(copy, 'externals').ports = ['127.0.0.1:3001:3001'];
    },
  },
  {
    what: 'the proxy on the internal network',
    check: 'composeNetworks',
    reports: /compose service nats: shares a network with the proxy/,
    breakIt: (copy) => {
      composeService(copy, 'proxy').networks = ['edge', 'internal'];
    },
  },
  {
    what: 'a caller cut off from its callee',
    check: 'composeNetworks',
    reports: /compose service rider: shares no network with externals/,
    breakIt: (copy) => {
      recordOf(at(copy.compose, 'networks')).steps = { internal: true };
      composeService(copy, 'externals').networks = ['steps'];
    },
  },
  {
    what: 'depends_on that does not wait for health',
    check: 'composeStartOrder',
    reports: /bff-2: depends_on order must wait for service_healthy/,
    breakIt: (copy) => {
      composeService(copy, 'bff-2').depends_on = {
        ...recordOf(composeService(copy, 'bff-2').depends_on),
        order: { condition: 'service_started' },
      };
    },
  },
  {
    what: 'a consumer on a fixed host port',
    check: 'composeScaling',
    reports: /compose service rider: a host port prevents --scale/,
    breakIt: (copy) => {
      composeService(copy, 'rider').ports = ['3005:3005'];
    },
  },
  {
    what: 'NATS without JetStream',
    check: 'composeInfrastructure',
    reports: /JetStream is not enabled/,
    breakIt: (copy) => {
      const service = composeService(copy, 'nats');
      service.command = listOf(service.command).filter((part) => part !== '-js');
    },
  },
  {
    what: 'an init script that forgets a database',
    check: 'composeInfrastructure',
    reports: /creates databases for/,
    breakIt: (copy) => {
      copy.postgresInit = replaceIn(copy.postgresInit, ' bff)', ')');
    },
  },
  {
    what: 'a proxy that skips a BFF instance',
    check: 'composeProxy',
    reports: /not to every BFF instance/,
    breakIt: (copy) => {
      copy.caddyfile = replaceIn(copy.caddyfile, ' bff-2:3000', '');
    },
  },
  {
    what: 'a proxy that buffers SSE',
    check: 'composeProxy',
    reports: /flush_interval -1/,
    breakIt: (copy) => {
      copy.caddyfile = replaceIn(copy.caddyfile, /^\s*flush_interval -1\n/m, '');
    },
  },
  {
    what: 'a value in .env.example',
    check: 'composeCredentials',
    reports: /\.env\.example: CADS_ADMIN_TOKEN must be empty/,
    breakIt: (copy) => {
      copy.envExample = replaceIn(
        copy.envExample,
        /^CADS_ADMIN_TOKEN=$/m,
        'CADS_ADMIN_TOKEN=admin',
      );
    },
  },
  {
    what: 'a credential with a default value',
    check: 'composeCredentials',
    reports: /\$\{CADS_SESSION_SECRET\} must be required/,
    breakIt: (copy) => {
      copy.composeText = replaceIn(
        copy.composeText,
        '${CADS_SESSION_SECRET:?',
        '${CADS_SESSION_SECRET:-',
      );
    },
  },
  {
    what: 'an image running as root',
    check: 'image',
    reports: /runs as root/,
    breakIt: (copy) => {
      copy.dockerfile = replaceIn(copy.dockerfile, /^USER .*$/m, '');
    },
  },
  {
    what: 'an image without a health check',
    check: 'image',
    reports: /no HEALTHCHECK/,
    breakIt: (copy) => {
      copy.dockerfile = replaceIn(copy.dockerfile, /^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, '');
    },
  },
  {
    what: 'an image with the dev dependencies',
    check: 'image',
    reports: /no dependencies from npm ci --omit=dev/,
    breakIt: (copy) => {
      copy.dockerfile = replaceIn(copy.dockerfile, 'npm ci --omit=dev', 'npm ci');
    },
  },
  {
    what: 'an image that copies a .env file',
    check: 'image',
    reports: /copies what looks like a secret/,
    breakIt: (copy) => {
      copy.dockerfile = replaceIn(
        copy.dockerfile,
        'COPY tsconfig.json ./',
        'COPY tsconfig.json .env ./',
      );
    },
  },
  {
    what: 'a single-stage image',
    check: 'image',
    reports: /stages; deps, build and a runtime are needed/,
    breakIt: (copy) => {
      copy.dockerfile = copy.dockerfile.slice(
        copy.dockerfile.lastIndexOf('FROM ${NODE_IMAGE} AS runtime'),
      );
    },
  },
  {
    what: 'a build context that sends .cads',
    check: 'buildContext',
    reports: /does not exclude \.cads/,
    breakIt: (copy) => {
      copy.dockerignore = replaceIn(copy.dockerignore, '**/.cads\n', '');
    },
  },
];

describe('the checks catch a broken deployment', () => {
  it('covers every check', () => {
    const covered = new Set<string>(breakages.map(({ check }) => check));
    expect(Object.keys(checks).filter((id) => !covered.has(id))).toEqual([]);
  });

  it.each(breakages.map((breakage) => [breakage.what, breakage] as const))('%s', (_, breakage) => {
    const copy = copyOf(sources);
    breakage.breakIt(copy);
    const problems = run(checks[breakage.check], copy);
    expect(problems.join('\n')).toMatch(breakage.reports);
  });
});
