import type { CodeFacts } from './code-facts.ts';
import type { DeploymentSources } from './sources.ts';

/** One rule the deployment files must follow: the problems found, none when it holds. */
export interface Check {
  readonly title: string;
  readonly run: (sources: DeploymentSources, facts: CodeFacts) => string[];
}
