import type { SagaMap } from './saga-map.ts';

/**
 * The saga as a Mermaid flowchart: the success path left to right, each failure to the failed
 * end (dotted), and each compensation a failure calls for (dotted, to the step's undo node);
 * with a deadline, a timer node whose event fails the saga and calls every undo node.
 * Deterministic: the same map always gives the same text, so a committed copy can be checked.
 */
export function sagaGraph(map: SagaMap): string {
  const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
  const quote = (text: string) => `"${text.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart LR', `  start([${quote(map.start.label)}])`];
  for (const step of map.steps) {
    lines.push(`  s_${id(step.name)}[${quote(step.label)}]`);
    if (step.compensation) lines.push(`  u_${id(step.name)}{{${quote(`undo ${step.label}`)}}}`);
  }
  lines.push('  completed([completed])', '  failed([failed])');
  const first = map.steps[0];
  if (first) lines.push(`  start -->|${map.start.type}| s_${id(first.name)}`);
  for (const step of map.steps) {
    const next = map.steps[step.index + 1];
    lines.push(
      `  s_${id(step.name)} -->|${step.success.type}| ${next ? `s_${id(next.name)}` : 'completed'}`,
    );
  }
  for (const step of map.steps) {
    lines.push(`  s_${id(step.name)} -.->|${step.failure.type}| failed`);
    for (const earlier of map.compensating(step.name)) {
      lines.push(`  s_${id(step.name)} -.->|${step.failure.type}| u_${id(earlier.name)}`);
    }
  }
  const { deadline } = map;
  if (deadline) {
    const minutes = deadline.afterMs / 60_000;
    const after = Number.isInteger(minutes) ? `${minutes} min` : `${deadline.afterMs} ms`;
    lines.push(`  deadline>${quote(`deadline: ${after} after ${map.start.type}`)}]`);
    lines.push(`  deadline -.->|${deadline.expired.type}| failed`);
    for (const step of map.steps) {
      if (step.compensation) {
        lines.push(`  deadline -.->|${deadline.expired.type}| u_${id(step.name)}`);
      }
    }
  }
  for (const step of map.steps) {
    if (step.compensation) {
      lines.push(`  u_${id(step.name)} -.->|${step.compensation.type}| failed`);
    }
  }
  return `${lines.join('\n')}\n`;
}
