import { type SagaMap, sagaGraph } from '@cads/saga';

/**
 * The documents `cads saga graph` writes, as text: each saga's page (docs/sagas/<name>.md)
 * and the README's diagram block. Pure and deterministic, so a test compares them with the
 * committed files.
 */

export const readmeMarkers = {
  begin: '<!-- saga-graph:begin -->',
  end: '<!-- saga-graph:end -->',
} as const;

/** The command that regenerates them, as the stale-file messages name it. */
export const regenerate = '`npm run saga:graph` (`cads saga graph`)';

/** Where a saga's page lives, relative to the repository root. */
export function sagaPagePath(saga: Pick<SagaMap, 'name'>): string {
  return `docs/sagas/${saga.name}.md`;
}

const mermaid = (map: SagaMap) => `\`\`\`mermaid\n${sagaGraph(map)}\`\`\``;
const code = (text: string) => `\`${text}\``;
const list = (items: readonly string[]) =>
  items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]!}`;

/** A saga's page: what it is, its diagram, then each step and each event in saga order. */
export function sagaPage(map: SagaMap): string {
  const steps = map.steps.map((step) => {
    const undo = step.compensation
      ? step.compensateOn.length > 0
        ? ` Undone by ${code(step.compensation.type)} when ${list(step.compensateOn.map(code))} follows.`
        : ` Undone by ${code(step.compensation.type)} (no later step can fail).`
      : ' Never undone.';
    return (
      `- **${step.label}** (${code(step.name)})${step.description ? `: ${step.description}` : ''}` +
      ` Runs on ${code(step.trigger)}; succeeds with ${code(step.success.type)}, fails with` +
      ` ${code(step.failure.type)} (why in ${code(step.failure.reasonField)}).${undo}`
    );
  });
  const events = map.events.map(
    (event) =>
      `- ${code(event.type)} (${event.role}${event.step ? ` of ${event.step}` : ''}): ` +
      `${code(event.producer)} → ${event.consumers.map(code).join(', ')}`,
  );
  return [
    `# ${map.label} saga`,
    '',
    ...(map.description ? [map.description, ''] : []),
    `Generated from the saga map by ${regenerate}; a test fails when this page is stale. ` +
      'How to read it and how to change the saga: [the saga map](../saga-map.md).',
    '',
    mermaid(map),
    '',
    '## Steps',
    '',
    `The saga starts with ${code(map.start.type)}, emitted by ${code(map.start.producer)}, ` +
      `which tracks it by its key ${code(map.key)}; it completes with ${code(map.completion)}.`,
    '',
    ...steps,
    '',
    '## Events',
    '',
    'Each event with its role, its producer and its consumers.',
    '',
    ...events,
    '',
  ].join('\n');
}

/** The README's block: the markers around the saga's Mermaid diagram. */
export function readmeBlock(map: SagaMap): string {
  return `${readmeMarkers.begin}\n\n${mermaid(map)}\n\n${readmeMarkers.end}`;
}

/**
 * A document (the README) with its saga block replaced by `map`'s; throws when the markers are
 * missing.
 */
export function withReadmeBlock(readme: string, map: SagaMap, file = 'README.md'): string {
  const begin = readme.indexOf(readmeMarkers.begin);
  const end = readme.indexOf(readmeMarkers.end, begin);
  if (begin === -1 || end === -1) {
    throw new Error(
      `${file} has no ${readmeMarkers.begin} … ${readmeMarkers.end} block for the saga's diagram`,
    );
  }
  return `${readme.slice(0, begin)}${readmeBlock(map)}${readme.slice(end + readmeMarkers.end.length)}`;
}
