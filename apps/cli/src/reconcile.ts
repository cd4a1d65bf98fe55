import { finalEventTypes as finalEventTypeList } from '@cads/bff/contracts';
/**
 * Reconciliation: checks what every service recorded about each order against the others and
 * against the saga's four outcomes. Pure: the snapshot comes in, findings come out; reading the
 * databases is `reconcile-snapshot.ts`'s job.
 *
 * The definition of consistent is the seed's (restaurant / rider / payment / order):
 * all accept 0/0/0/2 · restaurant rejects 4/-1/-1/5 · rider rejects 5/4/-1/5 ·
 * payment rejects 5/5/4/5 (-1: no record), plus what each outcome implies outside the
 * services: a held reservation and assignment and one charge when completed, everything
 * released and nothing charged when cancelled, and at most one notification per order.
 */
import { foldOrder } from '@cads/order';

export type StepName = 'restaurant' | 'rider' | 'payment';
export const stepNames: readonly StepName[] = ['restaurant', 'rider', 'payment'];

/** A row of the order service's `orders`. */
export interface OrderRecord {
  readonly orderId: string;
  readonly userId: string;
  /** 0 created · 1 updated · 2 completed · 5 cancelled. */
  readonly status: number;
  readonly priceCents: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A saga event the order service recorded on an order's timeline. */
export interface OrderEventRecord {
  readonly eventId: string;
  readonly orderId: string;
  readonly type: string;
  readonly recordedAt: Date;
}

/** A step service's record of an order (restaurant, rider or payment). */
export interface StepRecord {
  readonly orderId: string;
  readonly userId: string;
  /** 0 succeeded · 4 rejected · 5 compensated. */
  readonly status: number;
  /** A tombstone: compensated before the forward event, so nothing was ever held. */
  readonly compensatedBeforeForward: boolean;
  /** The external system's answer (e.g. `{ receiptId, amountCents }` of the bank). */
  readonly details: unknown;
  readonly updatedAt: Date;
}

/** A charge or refund in the bank's ledger (externals). */
export interface LedgerEntry {
  readonly orderId: string;
  readonly userId: string;
  readonly kind: 'charge' | 'refund';
  readonly amountCents: number;
  readonly receiptId: string;
  readonly at: Date;
}

/** A reservation (restaurant system) or an assignment (riders' system) in the externals. */
export interface ExternalHold {
  /** Reservation id or rider id. */
  readonly holdId: string;
  readonly orderId: string;
  readonly userId: string;
  readonly heldAt: Date;
  /** When it was released; null while active. */
  readonly releasedAt: Date | null;
}

/** A notification the provider stored (one per final event at most). */
export interface NotificationRecord {
  readonly eventId: string;
  readonly orderId: string;
  readonly userId: string;
  readonly createdAt: Date;
}

/** The BFF's decision about a final event: notified, or the user was online. */
export interface FinalDecision {
  readonly eventId: string;
  readonly orderId: string;
  readonly userId: string;
  readonly type: string;
  readonly notified: boolean;
  readonly decidedAt: Date;
}

/** Everything reconciliation compares, as read from each service's database. */
export interface ReconcileSnapshot {
  readonly orders: readonly OrderRecord[];
  readonly orderEvents: readonly OrderEventRecord[];
  readonly steps: Readonly<Record<StepName, readonly StepRecord[]>>;
  readonly ledger: readonly LedgerEntry[];
  readonly reservations: readonly ExternalHold[];
  readonly assignments: readonly ExternalHold[];
  readonly notifications: readonly NotificationRecord[];
  readonly finalDecisions: readonly FinalDecision[];
}

export interface ReconcileOptions {
  /** A non-final order with no activity for longer than this is stuck. */
  readonly stuckAfterMs: number;
  /**
   * A final order is checked once nothing happened to it for this long: compensations, the
   * order's last events and the BFF's decision follow the final event by moments, and the
   * databases are read one after the other, so a younger order may look half-done.
   */
  readonly settleMs: number;
}

export const findingKinds = [
  'unknown-order',
  'user-mismatch',
  'stuck',
  'status-stale',
  'event-not-recorded',
  'completed-but-step-not-done',
  'paid-but-compensated',
  'not-compensated',
  'cancelled-without-rejection',
  'unexpected-states',
  'duplicate-external-hold',
  'compensated-but-held',
  'orphan-external-hold',
  'succeeded-without-external-hold',
  'charge-count',
  'charged-cancelled-order',
  'receipt-without-charge',
  'charge-without-receipt',
  'amount-mismatch',
  'duplicate-notification',
  'notification-missing',
  'notification-contradicts-decision',
  'final-event-undecided',
] as const;
export type FindingKind = (typeof findingKinds)[number];

/** One inconsistency about one order. */
export interface Finding {
  readonly orderId: string;
  readonly kind: FindingKind;
  readonly detail: string;
}

/** The saga's consistent end states: restaurant / rider / payment / order. */
export const seedOutcomes: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 2],
  [4, -1, -1, 5],
  [5, 4, -1, 5],
  [5, 5, 4, 5],
];

const finalEventTypes: ReadonlySet<string> = new Set(finalEventTypeList);

const stepStatusText: Readonly<Record<StepName, Readonly<Record<number, string>>>> = {
  restaurant: { [-1]: 'no record', 0: 'reserved', 4: 'rejected', 5: 'compensated' },
  rider: { [-1]: 'no record', 0: 'assigned', 4: 'rejected', 5: 'compensated' },
  payment: { [-1]: 'no record', 0: 'charged', 4: 'rejected', 5: 'compensated' },
};
const orderStatusText: Readonly<Record<number, string>> = {
  0: 'created',
  1: 'updated',
  2: 'completed',
  5: 'cancelled',
};

const holdSystem = {
  restaurant: { system: 'the restaurant system', noun: 'reservation' },
  rider: { system: "the riders' system", noun: 'assignment' },
} as const;

/** What every service recorded about one order. */
interface OrderView {
  readonly order: OrderRecord;
  readonly events: readonly OrderEventRecord[];
  readonly steps: Readonly<Record<StepName, StepRecord | undefined>>;
  readonly ledger: readonly LedgerEntry[];
  readonly holds: Readonly<Record<'restaurant' | 'rider', readonly ExternalHold[]>>;
  readonly notifications: readonly NotificationRecord[];
  readonly decisions: readonly FinalDecision[];
  readonly lastActivity: Date;
}

/**
 * Every inconsistency in `snapshot` as of `now` (when reading it began: an order with activity
 * since is still moving), sorted by order then rule. Consistent orders (one of the four
 * outcomes with everything it implies) produce none. An order is checked only once it had no
 * activity for `settleMs`; one that is not final, only for its status and for being stuck.
 */
export function reconcile(
  snapshot: ReconcileSnapshot,
  now: Date,
  options: ReconcileOptions,
): Finding[] {
  const findings: Finding[] = [];
  const orders = new Map(snapshot.orders.map((order) => [order.orderId, order]));
  findings.push(...unknownOrders(snapshot, orders), ...userMismatches(snapshot, orders));
  for (const view of orderViews(snapshot)) {
    const age = now.getTime() - view.lastActivity.getTime();
    const settled = age > options.settleMs;
    if (settled) findings.push(...staleStatus(view));
    if (!isFinal(view.order.status)) {
      if (age > options.stuckAfterMs) findings.push(stuck(view, age));
      continue;
    }
    findings.push(...undecidedFinalEvents(view, now, options));
    if (!settled) continue;
    findings.push(
      ...unrecordedEvents(view),
      ...stateFindings(view),
      ...holdFindings(view, 'restaurant'),
      ...holdFindings(view, 'rider'),
      ...ledgerFindings(view),
      ...notificationFindings(view),
    );
  }
  const rank = (kind: FindingKind) => findingKinds.indexOf(kind);
  return findings.sort((a, b) => compareText(a.orderId, b.orderId) || rank(a.kind) - rank(b.kind));
}

/** How many orders are in each condition, for the summary line. */
export interface OrderCounts {
  readonly total: number;
  readonly completed: number;
  readonly cancelled: number;
  /** Not final yet, with activity within `stuckAfterMs`. */
  readonly inFlight: number;
  readonly stuck: number;
}

export function countOrders(
  snapshot: ReconcileSnapshot,
  now: Date,
  options: ReconcileOptions,
): OrderCounts {
  const counts = { total: 0, completed: 0, cancelled: 0, inFlight: 0, stuck: 0 };
  for (const view of orderViews(snapshot)) {
    counts.total += 1;
    if (view.order.status === 2) counts.completed += 1;
    else if (view.order.status === 5) counts.cancelled += 1;
    else if (now.getTime() - view.lastActivity.getTime() > options.stuckAfterMs) counts.stuck += 1;
    else counts.inFlight += 1;
  }
  return counts;
}

function isFinal(status: number): boolean {
  return status === 2 || status === 5;
}

function groupByOrder<T extends { readonly orderId: string }>(
  items: readonly T[],
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.orderId);
    if (group) group.push(item);
    else groups.set(item.orderId, [item]);
  }
  return groups;
}

function orderViews(snapshot: ReconcileSnapshot): OrderView[] {
  const events = groupByOrder(snapshot.orderEvents);
  const steps = Object.fromEntries(
    stepNames.map((step) => [step, new Map(snapshot.steps[step].map((r) => [r.orderId, r]))]),
  ) as Record<StepName, Map<string, StepRecord>>;
  const ledger = groupByOrder(snapshot.ledger);
  const reservations = groupByOrder(snapshot.reservations);
  const assignments = groupByOrder(snapshot.assignments);
  const notifications = groupByOrder(snapshot.notifications);
  const decisions = groupByOrder(snapshot.finalDecisions);
  return snapshot.orders.map((order) => {
    const id = order.orderId;
    const view = {
      order,
      events: events.get(id) ?? [],
      steps: {
        restaurant: steps.restaurant.get(id),
        rider: steps.rider.get(id),
        payment: steps.payment.get(id),
      },
      ledger: ledger.get(id) ?? [],
      holds: { restaurant: reservations.get(id) ?? [], rider: assignments.get(id) ?? [] },
      notifications: notifications.get(id) ?? [],
      decisions: decisions.get(id) ?? [],
    };
    const instants = [
      order.createdAt,
      order.updatedAt,
      ...view.events.map((event) => event.recordedAt),
      ...stepNames.flatMap((step) => view.steps[step]?.updatedAt ?? []),
      ...view.ledger.map((entry) => entry.at),
      ...[...view.holds.restaurant, ...view.holds.rider].flatMap((hold) => [
        hold.heldAt,
        ...(hold.releasedAt ? [hold.releasedAt] : []),
      ]),
      ...view.notifications.map((notification) => notification.createdAt),
      ...view.decisions.map((decision) => decision.decidedAt),
    ];
    return { ...view, lastActivity: new Date(Math.max(...instants.map((at) => at.getTime()))) };
  });
}

function statusOf(view: OrderView, step: StepName): number {
  return view.steps[step]?.status ?? -1;
}

function describeStep(step: StepName, status: number): string {
  return `${step} ${status} (${stepStatusText[step][status] ?? 'unknown status'})`;
}

function describeOrder(status: number): string {
  return `${status} (${orderStatusText[status] ?? 'unknown status'})`;
}

function formatStates(view: OrderView): string {
  return `${stepNames.map((step) => statusOf(view, step)).join('/')}/${view.order.status}`;
}

function formatCents(cents: number): string {
  return `${(cents / 100).toFixed(2)}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Records of an order the order service does not know: every order starts there. */
function unknownOrders(
  snapshot: ReconcileSnapshot,
  orders: ReadonlyMap<string, OrderRecord>,
): Finding[] {
  const sources: [string, readonly { readonly orderId: string }[]][] = [
    ...stepNames.map((step): [string, readonly StepRecord[]] => [
      `the ${step} service has a record`,
      snapshot.steps[step],
    ]),
    ["the bank's ledger has an entry", snapshot.ledger],
    ['the restaurant system has a reservation', snapshot.reservations],
    ["the riders' system has an assignment", snapshot.assignments],
    ['the notifications provider has a notification', snapshot.notifications],
    ['the bff decided about a final event', snapshot.finalDecisions],
  ];
  const findings: Finding[] = [];
  for (const [what, records] of sources) {
    for (const orderId of new Set(records.map((record) => record.orderId))) {
      if (!orders.has(orderId)) {
        findings.push({
          orderId,
          kind: 'unknown-order',
          detail: `${what} for an order the order service does not know`,
        });
      }
    }
  }
  return findings;
}

function userMismatches(
  snapshot: ReconcileSnapshot,
  orders: ReadonlyMap<string, OrderRecord>,
): Finding[] {
  const sources: [string, readonly { readonly orderId: string; readonly userId: string }[]][] = [
    ...stepNames.map((step): [string, readonly StepRecord[]] => [
      `the ${step} service's record`,
      snapshot.steps[step],
    ]),
    ["the bank's ledger", snapshot.ledger],
    ['the restaurant system', snapshot.reservations],
    ["the riders' system", snapshot.assignments],
    ['the notifications provider', snapshot.notifications],
    ["the bff's decision", snapshot.finalDecisions],
  ];
  const findings: Finding[] = [];
  for (const [what, records] of sources) {
    const reported = new Set<string>();
    for (const record of records) {
      const order = orders.get(record.orderId);
      if (!order || order.userId === record.userId || reported.has(record.orderId)) continue;
      reported.add(record.orderId);
      findings.push({
        orderId: record.orderId,
        kind: 'user-mismatch',
        detail: `${what} names user ${record.userId}, the order belongs to ${order.userId}`,
      });
    }
  }
  return findings;
}

function stuck(view: OrderView, ageMs: number): Finding {
  const last = [...view.events].sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime())[0];
  return {
    orderId: view.order.orderId,
    kind: 'stuck',
    detail:
      `order ${describeOrder(view.order.status)} with no activity for ${Math.round(ageMs / 1_000)} s ` +
      `(restaurant/rider/payment/order ${formatStates(view)}; last event ${last ? last.type : 'none'})`,
  };
}

/** The cached status must be the fold of the recorded events. */
function staleStatus(view: OrderView): Finding[] {
  const folded = foldOrder(
    view.order,
    view.events.map((event) => ({
      id: event.eventId,
      type: event.type,
      time: event.recordedAt.toISOString(),
      data: {},
    })),
  ).status;
  if (folded === view.order.status) return [];
  return [
    {
      orderId: view.order.orderId,
      kind: 'status-stale',
      detail: `order status is ${describeOrder(view.order.status)} but its ${view.events.length} recorded events make it ${describeOrder(folded)}`,
    },
  ];
}

/** Each step's outcome reaches the order's timeline. */
function unrecordedEvents(view: OrderView): Finding[] {
  const recorded = new Set(view.events.map((event) => event.type));
  const expected: [StepName, string][] = [];
  for (const step of stepNames) {
    const record = view.steps[step];
    if (!record) continue;
    const forward = { restaurant: 'reserved', rider: 'assigned', payment: 'done' }[step];
    if (record.status === 0) expected.push([step, `${step}_${forward}`]);
    if (record.status === 4) expected.push([step, `${step}_cancelled`]);
    if (record.status === 5) {
      if (!record.compensatedBeforeForward) expected.push([step, `${step}_${forward}`]);
      expected.push([step, `${step}_compensated`]);
    }
  }
  return expected
    .filter(([, type]) => !recorded.has(type))
    .map(([step, type]) => ({
      orderId: view.order.orderId,
      kind: 'event-not-recorded',
      detail: `${describeStep(step, statusOf(view, step))} but the order never recorded ${type}`,
    }));
}

/** The four statuses against the saga's outcomes. */
function stateFindings(view: OrderView): Finding[] {
  const orderId = view.order.orderId;
  const findings: Finding[] = [];
  const status = (step: StepName) => statusOf(view, step);
  if (view.order.status === 2) {
    const undone = stepNames.filter((step) => status(step) !== 0);
    if (undone.length > 0) {
      findings.push({
        orderId,
        kind: 'completed-but-step-not-done',
        detail: `order completed (2) but ${undone.map((step) => describeStep(step, status(step))).join(', ')}; a completed order has every step at 0`,
      });
    }
  }
  if (status('payment') === 0) {
    for (const step of ['restaurant', 'rider'] as const) {
      if (status(step) === 5) {
        findings.push({
          orderId,
          kind: 'paid-but-compensated',
          detail: `payment charged (0) but ${describeStep(step, 5)}`,
        });
      }
    }
  }
  if (view.order.status === 5) {
    for (const step of ['restaurant', 'rider'] as const) {
      if (status(step) === 0) {
        findings.push({
          orderId,
          kind: 'not-compensated',
          detail: `${describeStep(step, 0)} for a cancelled order; it should be 5 (compensated)`,
        });
      }
    }
    if (!stepNames.some((step) => status(step) === 4)) {
      findings.push({
        orderId,
        kind: 'cancelled-without-rejection',
        detail: `order cancelled (5) but no step rejected it (restaurant/rider/payment ${formatStates(view)})`,
      });
    }
  }
  const states = [...stepNames.map(status), view.order.status];
  const isOutcome = seedOutcomes.some((outcome) => outcome.every((s, i) => s === states[i]));
  if (findings.length === 0 && !isOutcome) {
    findings.push({
      orderId,
      kind: 'unexpected-states',
      detail: `restaurant/rider/payment/order ${states.join('/')} is none of the saga's outcomes (${seedOutcomes.map((outcome) => outcome.join('/')).join(', ')})`,
    });
  }
  return findings;
}

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
      detail: `${describeStep(step, 0)} but ${system} holds no active ${noun} for the order${holds.length > 0 ? ` (${holds.length} released)` : ''}`,
    });
  } else if (status === 5 && active.length > 0) {
    findings.push({
      orderId,
      kind: 'compensated-but-held',
      detail: `${describeStep(step, 5)} but its ${noun} ${ids} at ${system} is still active`,
    });
  } else if (status !== 0 && active.length > 0) {
    findings.push({
      orderId,
      kind: 'orphan-external-hold',
      detail: `${system} holds ${noun} ${ids} but ${describeStep(step, status)}`,
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
        detail: `the bank's ledger has charge ${charge.receiptId} (${formatCents(charge.amountCents)}) the payment service holds no receipt for (${describeStep('payment', statusOf(view, 'payment'))})`,
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

/** At most one notification per order, and each as the BFF decided. */
function notificationFindings(view: OrderView): Finding[] {
  const orderId = view.order.orderId;
  const findings: Finding[] = [];
  if (view.notifications.length > 1) {
    findings.push({
      orderId,
      kind: 'duplicate-notification',
      detail: `${view.notifications.length} notifications for the order (events ${view.notifications.map((n) => n.eventId).join(', ')}); its final event makes at most one`,
    });
  }
  const sent = new Set(view.notifications.map((notification) => notification.eventId));
  for (const decision of view.decisions) {
    if (decision.notified && !sent.has(decision.eventId)) {
      findings.push({
        orderId,
        kind: 'notification-missing',
        detail: `the bff decided to notify ${decision.type} ${decision.eventId}, but the provider has no notification for it`,
      });
    }
    if (!decision.notified && sent.has(decision.eventId)) {
      findings.push({
        orderId,
        kind: 'notification-contradicts-decision',
        detail: `the provider has a notification for ${decision.type} ${decision.eventId}, which the bff decided not to notify (the user was online)`,
      });
    }
  }
  return findings;
}

/** The BFF decides about every final event; a decision may wait for a retried provider. */
function undecidedFinalEvents(view: OrderView, now: Date, options: ReconcileOptions): Finding[] {
  const decided = new Set(view.decisions.map((decision) => decision.eventId));
  return view.events
    .filter(
      (event) =>
        finalEventTypes.has(event.type) &&
        !decided.has(event.eventId) &&
        now.getTime() - event.recordedAt.getTime() > options.stuckAfterMs,
    )
    .map((event) => ({
      orderId: view.order.orderId,
      kind: 'final-event-undecided' as const,
      detail: `the bff never decided whether to notify ${event.type} ${event.eventId} (recorded ${Math.round((now.getTime() - event.recordedAt.getTime()) / 1_000)} s ago)`,
    }));
}
