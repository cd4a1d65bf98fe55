import type { OrderView } from '@cads/bff/contracts';
import { html, nothing, type TemplateResult } from 'lit';
import { formatTime } from './format.ts';
import { icon } from './icons.ts';
import type { OrderProgress, StepName, StepProgress } from './order-progress.ts';

const labels: Readonly<Record<StepName, string>> = {
  order: 'Order',
  restaurant: 'Restaurant',
  rider: 'Rider',
  payment: 'Payment',
};

const activeText: Readonly<Record<StepName, string>> = {
  order: 'Sending…',
  restaurant: 'Confirming…',
  rider: 'Finding a rider…',
  payment: 'Charging…',
};

const doneText: Readonly<Record<StepName, string>> = {
  order: 'Placed',
  restaurant: 'Confirmed',
  rider: 'Assigned',
  payment: 'Paid',
};

const releasedText: Readonly<Record<StepName, string>> = {
  order: 'Released',
  restaurant: 'Reservation released',
  rider: 'Rider released',
  payment: 'Refunded',
};

const variants = {
  pending: 'neutral',
  active: 'brand',
  done: 'success',
  rejected: 'danger',
  compensated: 'warning',
} as const;

/**
 * The four saga steps as a Web Awesome stepper. Each step carries `data-state`; a rejected
 * step's reason is its description (`step-<name>-reason`), rendered as text.
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
      ${progress.steps.map((step) => renderStep(step, progress, order))}
    </wa-stepper>
  `;
}

function renderStep(
  step: StepProgress,
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
      ${labels[name]}
      ${
        state === 'rejected'
          ? html`<span slot="description" class="step-reason" data-testid="step-${name}-reason"
              >${step.reason}</span
            >`
          : html`<span slot="description">${description(step, progress, order)}</span>`
      }
    </wa-step>
  `;
}

function description(
  { name, state }: StepProgress,
  progress: OrderProgress,
  order: OrderView | undefined,
): string {
  switch (state) {
    case 'active':
      return activeText[name];
    case 'done':
      if (name === 'order' && order) {
        const placedAt = formatTime(order.createdAt);
        if (placedAt) return `Placed at ${placedAt}`;
      }
      if (name === 'rider' && progress.details.riderName) return progress.details.riderName;
      return doneText[name];
    case 'compensated':
      return releasedText[name];
    case 'pending':
      return progress.final ? 'Skipped' : 'Waiting';
    case 'rejected':
      return 'Rejected';
  }
}
