/**
 * The deployment's own decisions the checks hold it to (everything else comes from the code,
 * see code-facts.ts).
 */
import type { ServiceName } from '../../apps/cli/src/system.ts';

/** The consumers that scale with load: HorizontalPodAutoscalers, `--scale` in compose. */
export const consumers = ['restaurant', 'rider', 'payment'] as const;

/**
 * Variables a CADS container may get although no CADS source reads them, and why. Anything else
 * in a manifest that the code never reads is a mistake (a typo, a removed setting).
 */
export const allowedEnvironment: Readonly<Record<string, string>> = {
  NODE_ENV: 'the Node.js convention; the image sets production, fastify and pino read it',
  PGPASSWORD:
    'read by node-postgres when the connection string has no password (asserted by a test)',
};

/** deploy/k8s/secrets.example.yaml: a template of the Secrets, never applied. */
export const secretTemplateFile = 'secrets.example.yaml';

/**
 * Every value of the Secret template. (deploy/.env.example leaves them empty instead: compose's
 * `${VAR:?}` refuses an empty value, but would accept a placeholder.)
 */
export const placeholder = 'REPLACE_ME';

/** Variables whose value is a credential: never a literal in a deployment file. */
export const credentials = [
  'CADS_SESSION_SECRET',
  'CADS_INTERNAL_SECRET',
  'CADS_ADMIN_TOKEN',
  'PGPASSWORD',
  'POSTGRES_PASSWORD',
];

/**
 * Credentials (listed in `credentials` too) every CADS process reads, with one value for the
 * whole deployment: a process with another value refuses its callers' service tokens, and its
 * own are refused.
 */
export const deploymentSecrets = ['CADS_INTERNAL_SECRET'] as const;

/** The public entry: reached through the ingress controller (Kubernetes) or the proxy (Compose). */
export const publicService = 'bff' satisfies ServiceName;

/**
 * Who may connect to each of the other services, and nobody else: the services the code makes
 * call it (the BFF acts for its users on order and notifications; the saga steps call the
 * external systems). restaurant, rider and payment serve only probes and metrics. Kubernetes:
 * the NetworkPolicies admit exactly these on the service's port; Compose: each caller shares a
 * network with its callee.
 */
export const internalCallers: Readonly<
  Record<Exclude<ServiceName, typeof publicService>, readonly ServiceName[]>
> = {
  order: ['bff'],
  notifications: ['bff'],
  externals: ['restaurant', 'rider', 'payment'],
  restaurant: [],
  rider: [],
  payment: [],
};

/**
 * The namespace of the ingress controller, the only one whose pods may connect to the public
 * service (ingress-nginx's default; k8s/network-policies.yaml selects it by
 * `kubernetes.io/metadata.name`). Another controller: change both.
 */
export const ingressControllerNamespace = 'ingress-nginx';

export function parseUrl(text: string | undefined): URL | undefined {
  if (text === undefined) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
