import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { readRepositoryFile, repositoryRoot } from './code-facts.ts';

/** One YAML document of a Kubernetes manifest file, as parsed. */
export interface ManifestDocument {
  readonly file: string;
  readonly object: unknown;
}

/** Every deployment file, read and parsed; the checks take this (a test may alter a copy). */
export interface DeploymentSources {
  /** The YAML files in deploy/k8s. */
  readonly manifestFiles: readonly string[];
  readonly manifests: readonly ManifestDocument[];
  readonly compose: unknown;
  readonly composeText: string;
  readonly dockerfile: string;
  readonly dockerignore: string;
  readonly gitignore: string;
  readonly envExample: string;
  readonly caddyfile: string;
  readonly postgresInit: string;
}

function parseManifests(file: string, text: string): ManifestDocument[] {
  return parseAllDocuments(text).map((document, index) => {
    const [error] = document.errors;
    if (error) throw new Error(`deploy/k8s/${file}, document ${index + 1}: ${error.message}`);
    return { file, object: document.toJS() as unknown };
  });
}

export function readDeploymentSources(): DeploymentSources {
  const manifestFiles = readdirSync(join(repositoryRoot, 'deploy/k8s'))
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort();
  const composeText = readRepositoryFile('deploy/compose.yaml');
  return {
    manifestFiles,
    manifests: manifestFiles.flatMap((file) =>
      parseManifests(file, readRepositoryFile(`deploy/k8s/${file}`)),
    ),
    // Compose resolves YAML merge keys (<<) and aliases; so does this.
    compose: parse(composeText, { merge: true }) as unknown,
    composeText,
    dockerfile: readRepositoryFile('deploy/Dockerfile'),
    dockerignore: readRepositoryFile('.dockerignore'),
    gitignore: readRepositoryFile('.gitignore'),
    envExample: readRepositoryFile('deploy/.env.example'),
    caddyfile: readRepositoryFile('deploy/caddy/Caddyfile'),
    postgresInit: readRepositoryFile('deploy/postgres/init-databases.sh'),
  };
}

/** Reads of parsed YAML that tolerate any shape: a broken file yields a problem, not a crash. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function recordOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value at a dotted path of records (`at(x, 'spec', 'template')`), or undefined. */
export function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}
