/**
 * The food saga's own reconciliation checks: what its outcomes imply outside the services. A
 * step at 0 holds its reservation (restaurant system) or assignment (riders' system) and a
 * compensated one holds none; a completed order has exactly one charge in the bank's ledger
 * and a cancelled one none, and every charge matches the payment's receipt and the price.
 */
import {
  describeStep,
  type Finding,
  formatCents,
  type LedgerEntry,
  type OrderView,
  type ReconcileCheck,
  type StepRecord,
  statusOf,
} from './reconcile.ts';

const holdSystem = {
  restaurant: { system: 'the restaurant system', noun: 'reservation' },
  rider: { system: "the riders' system", noun: 'assignment' },
} as const;

export const foodChecks: readonly ReconcileCheck[] = [
  (view) => holdFindings(view, 'restaurant'),
  (view) => holdFindings(view, 'rider'),
  (view) => ledgerFindings(view),
];

/** A held reservation or assignment exactly while the step stands at 0. */
function holdFindings(view: OrderView, step: 'restaurant' | 'rider'): Finding[] {
  const orderId = view.order.orderId;
  const { system, noun } = holdSystem[step];
  const holds = view.holds[step];
  const active = holds.filter((hold) => hold.releasedAt === null);
  const status = statusOf(view, step);
  const findings: Finding[] = [];
  if (holds.length > 1) {
    findings.push({
      orderId,
      kind: 'duplicate-external-hold',
      detail: `${system} has ${holds.length} ${noun}s for the order (${active.length} active); the idempotency key allows one`,
    });
  }
  const ids = active.map((hold) => hold.holdId).join(', ');
  if (status === 0 && active.length === 0) {
    findings.push({
      orderId,
      kind: 'succeeded-without-external-hold',
      detail: `${describeStep(view, step, 0)} but ${system} holds no active ${noun} for the order${holds.length > 0 ? ` (${holds.length} released)` : ''}`,
    });
  } else if (status === 5 && active.length > 0) {
    findings.push({
      orderId,
      kind: 'compensated-but-held',
      detail: `${describeStep(view, step, 5)} but its ${noun} ${ids} at ${system} is still active`,
    });
  } else if (status !== 0 && active.length > 0) {
    findings.push({
      orderId,
      kind: 'orphan-external-hold',
      detail: `${system} holds ${noun} ${ids} but ${describeStep(view, step, status)}`,
    });
  }
  return findings;
}

function receiptOf(record: StepRecord | undefined): string | undefined {
  const details = record?.details;
  if (typeof details !== 'object' || details === null) return undefined;
  const receipt = (details as { receiptId?: unknown }).receiptId;
  return typeof receipt === 'string' ? receipt : undefined;
}

function reservedPriceOf(view: OrderView): number {
  const details = view.steps.restaurant?.details;
  const price =
    typeof details === 'object' && details !== null
      ? (details as { priceCents?: unknown }).priceCents
      : undefined;
  return typeof price === 'number' ? price : view.order.priceCents;
}

/** One charge for a completed order, none left for a cancelled one, receipts matching. */
function ledgerFindings(view: OrderView): Finding[] {
  const orderId = view.order.orderId;
  const findings: Finding[] = [];
  const charges = view.ledger.filter((entry) => entry.kind === 'charge');
  const refunded = new Set(
    view.ledger.filter((entry) => entry.kind === 'refund').map((entry) => entry.receiptId),
  );
  const open = charges.filter((charge) => !refunded.has(charge.receiptId));
  const describe = (entries: readonly LedgerEntry[]) =>
    entries.map((entry) => `${entry.receiptId} ${formatCents(entry.amountCents)}`).join(', ');
  if (view.order.status === 2 && open.length !== 1) {
    findings.push({
      orderId,
      kind: 'charge-count',
      detail: `completed order with ${open.length} charges not refunded in the bank's ledger${open.length > 0 ? ` (${describe(open)})` : ''}; expected exactly 1`,
    });
  }
  if (view.order.status === 5 && open.length > 0) {
    findings.push({
      orderId,
      kind: 'charged-cancelled-order',
      detail: `cancelled order with ${open.length} charge${open.length === 1 ? '' : 's'} not refunded in the bank's ledger (${describe(open)})`,
    });
  }
  const payment = view.steps.payment;
  const receipt = payment?.status === 0 ? receiptOf(payment) : undefined;
  if (payment?.status === 0) {
    if (receipt === undefined) {
      findings.push({
        orderId,
        kind: 'receipt-without-charge',
        detail: "payment charged (0) but its record holds no receipt id of the bank's",
      });
    } else if (!charges.some((charge) => charge.receiptId === receipt)) {
      findings.push({
        orderId,
        kind: 'receipt-without-charge',
        detail: `payment charged (0) with receipt ${receipt}, but the bank's ledger has no charge with that receipt`,
      });
    }
  }
  for (const charge of open) {
    if (charge.receiptId !== receipt) {
      findings.push({
        orderId,
        kind: 'charge-without-receipt',
        detail: `the bank's ledger has charge ${charge.receiptId} (${formatCents(charge.amountCents)}) the payment service holds no receipt for (${describeStep(view, 'payment', statusOf(view, 'payment'))})`,
      });
    }
  }
  const price = reservedPriceOf(view);
  for (const charge of charges) {
    if (charge.amountCents !== price) {
      findings.push({
        orderId,
        kind: 'amount-mismatch',
        detail: `charge ${charge.receiptId} is ${formatCents(charge.amountCents)}, the order's price ${formatCents(price)}`,
      });
    }
  }
  return findings;
}
