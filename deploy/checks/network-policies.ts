import { portOffsets, serviceNames, type ServiceName } from '../../apps/cli/src/system.ts';
import type { Check } from './check.ts';
import type { CodeFacts } from './code-facts.ts';
import { ingressControllerNamespace, internalCallers, publicService } from './rules.ts';
import { at, listOf, recordOf } from './sources.ts';
import {
  containersOf,
  label,
  matchesLabelSelector,
  named,
  ofKind,
  podLabels,
  resolvePort,
  type Resource,
  resources,
  workloadKinds,
} from './workloads.ts';

type Rule = Check['run'];

/** What a NetworkPolicy check needs to know about the service it looks at. */
interface Target {
  readonly service: ServiceName;
  readonly deployment: Resource;
  readonly port: number;
  /** The CADS services allowed to connect (none for the public service: the ingress only). */
  readonly callers: readonly ServiceName[];
}

/** One ingress rule of a policy that selects the target's pods. */
interface AdmittingRule {
  readonly policy: Resource;
  readonly ports: Record<string, unknown>[];
  readonly peers: Record<string, unknown>[];
}

const namespaceNameLabel = 'kubernetes.io/metadata.name';

function targetOf(
  all: readonly Resource[],
  service: ServiceName,
  facts: CodeFacts,
): Target | undefined {
  // A missing Deployment is reported by the kubernetesServices check.
  const deployment = named(all, 'Deployment', service);
  if (!deployment) return undefined;
  const callers = service === publicService ? [] : internalCallers[service];
  return { service, deployment, port: facts.basePort + portOffsets[service], callers };
}

/** The ingress rules of the policies selecting the target's pods (ingress is their default). */
function rulesFor(all: readonly Resource[], target: Target) {
  const policies = ofKind(all, 'NetworkPolicy').filter((policy) => {
    const types = listOf(at(policy.object, 'spec', 'policyTypes'));
    return (
      (types.length === 0 || types.includes('Ingress')) &&
      matchesLabelSelector(at(policy.object, 'spec', 'podSelector'), podLabels(target.deployment))
    );
  });
  const rules = policies.flatMap((policy) =>
    listOf(at(policy.object, 'spec', 'ingress')).map((rule): AdmittingRule => ({
      policy,
      ports: listOf(at(rule, 'ports')).map(recordOf),
      peers: listOf(at(rule, 'from')).map(recordOf),
    })),
  );
  return { policies, rules };
}

function onServicePort(rule: AdmittingRule, target: Target): boolean {
  const [container] = containersOf(target.deployment);
  return rule.ports.every(
    (entry) =>
      entry.port === target.port || resolvePort(container ?? {}, entry.port) === target.port,
  );
}

/** The workloads of the manifests (CADS or not) a same-namespace peer admits. */
function admittedWorkloads(all: readonly Resource[], peer: Record<string, unknown>): Resource[] {
  return all.filter(
    (resource) =>
      workloadKinds.some((kind) => kind === resource.kind) &&
      matchesLabelSelector(peer.podSelector, podLabels(resource)),
  );
}

/** Why a peer admits more than the target's callers (or the ingress controller), if it does. */
function peerProblem(all: readonly Resource[], peer: Record<string, unknown>, target: Target) {
  if (peer.ipBlock !== undefined) return 'admits an IP block';
  if (peer.namespaceSelector !== undefined) {
    if (target.service !== publicService) return 'admits pods of other namespaces';
    const pinned = at(peer.namespaceSelector, 'matchLabels', namespaceNameLabel);
    return pinned === ingressControllerNamespace
      ? undefined
      : `admits namespaces other than the ingress controller's (${namespaceNameLabel}: ${ingressControllerNamespace})`;
  }
  if (target.service === publicService)
    return 'admits pods of its own namespace; only the ingress controller may connect';
  if (Object.keys(recordOf(peer.podSelector)).length === 0) return 'admits every pod';
  const others = admittedWorkloads(all, peer)
    .map((workload) => workload.name)
    .filter((name) => !target.callers.some((caller) => caller === name));
  return others.length > 0 ? `admits ${others.join(', ')}` : undefined;
}

function callersText(target: Target): string {
  if (target.service === publicService) return 'the ingress controller';
  return target.callers.length > 0 ? target.callers.join(', ') : 'nobody (probes only)';
}

function ruleProblems(all: readonly Resource[], rule: AdmittingRule, target: Target): string[] {
  const where = `${label(rule.policy)}: ${target.service}`;
  const problems: string[] = [];
  if (rule.ports.length === 0) problems.push(`${where}: a rule admits every port`);
  else if (!onServicePort(rule, target))
    problems.push(`${where}: a rule admits another port than ${target.port}`);
  if (rule.peers.length === 0) problems.push(`${where}: a rule admits every source`);
  for (const peer of rule.peers) {
    const problem = peerProblem(all, peer, target);
    if (problem) problems.push(`${where} ${problem}, not only ${callersText(target)}`);
  }
  return problems;
}

/** Whether some rule admits this same-namespace workload, or the ingress namespace, on the port. */
function admits(rules: readonly AdmittingRule[], target: Target, caller: Resource | 'ingress') {
  return rules.some(
    (rule) =>
      rule.ports.length > 0 &&
      onServicePort(rule, target) &&
      rule.peers.some((peer) =>
        caller === 'ingress'
          ? at(peer.namespaceSelector, 'matchLabels', namespaceNameLabel) ===
            ingressControllerNamespace
          : peer.namespaceSelector === undefined &&
            peer.ipBlock === undefined &&
            matchesLabelSelector(peer.podSelector, podLabels(caller)),
      ),
  );
}

function missingCallers(all: readonly Resource[], rules: AdmittingRule[], target: Target) {
  const where = `${target.service}'s NetworkPolicies`;
  if (target.service === publicService) {
    return admits(rules, target, 'ingress')
      ? []
      : [`${where} do not admit the ingress controller (namespace ${ingressControllerNamespace})`];
  }
  return target.callers.flatMap((caller) => {
    const deployment = named(all, 'Deployment', caller);
    return !deployment || admits(rules, target, deployment)
      ? []
      : [`${where} do not admit its caller ${caller} on port ${target.port}`];
  });
}

/**
 * Every CADS service is fenced: the NetworkPolicies selecting its pods admit exactly its callers
 * (internalCallers in rules.ts), or for the public service the ingress controller, on its port.
 */
const networkPolicies: Rule = ({ manifests }, facts) => {
  const all = resources(manifests);
  const problems: string[] = [];
  for (const service of serviceNames) {
    const target = targetOf(all, service, facts);
    if (!target) continue;
    const { policies, rules } = rulesFor(all, target);
    if (policies.length === 0) {
      problems.push(`${service}: no NetworkPolicy selects its pods, so every pod may connect`);
      continue;
    }
    problems.push(
      ...rules.flatMap((rule) => ruleProblems(all, rule, target)),
      ...missingCallers(all, rules, target),
    );
  }
  return problems;
};

export const networkPolicyChecks = {
  networkPolicies: {
    title:
      'NetworkPolicies admit to each service only its callers (rules.ts) on its port, to the bff only the ingress controller',
    run: networkPolicies,
  },
} satisfies Record<string, Check>;
