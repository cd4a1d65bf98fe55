/**
 * The deployment's own decisions the checks hold it to (everything else comes from the code,
 * see code-facts.ts).
 */

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
  'CADS_ADMIN_TOKEN',
  'PGPASSWORD',
  'POSTGRES_PASSWORD',
];

export function parseUrl(text: string | undefined): URL | undefined {
  if (text === undefined) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
