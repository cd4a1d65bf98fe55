import type { OrderView } from '@cads/bff/contracts';
import type { ShownValue } from '@cads/saga/verdict';
import { html, nothing, type TemplateResult } from 'lit';
import { formatCents, formatTime } from './format.ts';
import { icon } from './icons.ts';
import type { OrderProgress, StepProgress } from './order-progress.ts';

const variants = {
  pending: 'neutral',
  active: 'brand',
  done: 'success',
  rejected: 'danger',
  compensated: 'warning',
} as const;

/**
 * The saga's steps as a Web Awesome stepper: the start event's step, then each step of the map,
 * with its label. Each step carries `data-state`; a rejected step's reason is its description
 * (`step-<name>-reason`); each shown field known is listed under its step
 * (`step-<name>-<field>`). Server text is rendered as text.
 */
export function renderOrderStepper(
  progress: OrderProgress,
  order: OrderView | undefined,
): TemplateResult {
  return html`
    <wa-stepper
      class="order-stepper"
      active=${progress.current}
      orientation="auto"
      label="Order progress"
    >
      ${progress.steps.map((step, index) => renderStep(step, index === 0, progress, order))}
    </wa-stepper>
  `;
}

function renderStep(
  step: StepProgress,
  isStart: boolean,
  progress: OrderProgress,
  order: OrderView | undefined,
): TemplateResult {
  const { name, state } = step;
  const marker =
    state === 'rejected' ? icon('cross') : state === 'compensated' ? icon('undo') : undefined;
  return html`
    <wa-step
      name=${name}
      data-testid="step-${name}"
      data-state=${state}
      variant=${variants[state]}
      ?completed=${state === 'done' || state === 'compensated'}
      ?loading=${state === 'active'}
    >
      ${marker ? html`<span slot="icon" class="step-marker">${marker}</span>` : nothing}
      ${step.label}
      <span slot="description" class="step-description">
        ${
          state === 'rejected'
            ? html`<span class="step-reason" data-testid="step-${name}-reason"
                >${step.reason}</span
              >`
            : html`<span>${stateText(step, isStart, progress, order)}</span>`
        }
        ${step.shown.map((shown) => renderShown(name, shown))}
      </span>
    </wa-step>
  `;
}

function renderShown(step: string, { field, label, format, value }: ShownValue): TemplateResult {
  return html`<span class="step-fact">
    <span class="step-fact__label">${label}</span>
    <span data-testid="step-${step}-${field}"
      >${format === 'cents' && typeof value === 'number' ? formatCents(value) : String(value)}</span
    >
  </span>`;
}

function stateText(
  { state }: StepProgress,
  isStart: boolean,
  progress: OrderProgress,
  order: OrderView | undefined,
): string {
  switch (state) {
    case 'active':
      return isStart ? 'Sending…' : 'In progress…';
    case 'done': {
      const placedAt = isStart && order ? formatTime(order.createdAt) : undefined;
      if (placedAt) return `Placed at ${placedAt}`;
      return isStart ? 'Placed' : 'Done';
    }
    case 'compensated':
      return 'Released';
    case 'pending':
      return progress.final ? 'Skipped' : 'Waiting';
    case 'rejected':
      return 'Rejected';
  }
}
