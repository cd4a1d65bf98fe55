/**
 * Reconciliation: checks what every service recorded about each order against the others and
 * against the outcomes the saga map allows. Pure: the snapshot comes in, findings come out;
 * reading the databases is `reconcile-snapshot.ts`'s job.
 *
 * The consistent end states come from the map (`sagaOutcomes`): every step at 0 and the order
 * at 2, or for each failing step: the steps before it at 5 (compensated), it at 4, the steps
 * after it with no record (-1), the order at 5. For the food saga these are the seed's four
 * (restaurant / rider / payment / order): 0/0/0/2 · 4/-1/-1/5 · 5/4/-1/5 · 5/5/4/5. The rules
 * here are per step and read the map; what an outcome implies outside the services (held
 * reservations, the bank's ledger) is the food saga's own plug-in (`reconcile-food.ts`).
 */
import { foodSaga, orderStatusCode } from '@cads/food-saga';
import type { SagaMap } from '@cads/saga';
import { foodChecks } from './reconcile-food.ts';

/** A step's name in the saga map. */
export type StepName = string;

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
  /** Each step's records, by step name (a step with no entry has no records). */
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
  /** The saga the records are checked against. Default: the food saga. */
  readonly saga?: SagaMap;
  /** Checks of what the outcomes imply outside the services. Default: the food saga's. */
  readonly checks?: readonly ReconcileCheck[];
}

/**
 * A saga's own check of a settled final order, run after the generic per-step rules (e.g. the
 * food saga's: held reservations and the bank's ledger).
 */
export interface ReconcileCheck {
  (view: OrderView, saga: SagaMap): Finding[];
}

export const findingKinds = [
  'unknown-order',
  'user-mismatch',
  'stuck',
  'status-stale',
  'event-not-recorded',
  'completed-but-step-not-done',
  'completed-but-compensated',
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

/**
 * The saga's consistent end states, one status per step in saga order then the order's: all
 * succeeded and completed, or for each step that fails, those before it compensated (5), it
 * rejected (4), those after it never reached (-1), and the order cancelled.
 */
export function sagaOutcomes(saga: SagaMap): readonly (readonly number[])[] {
  const steps = saga.steps;
  return [
    [...steps.map(() => 0), orderStatusCode.completed],
    ...steps.map((failing) => [
      ...steps.map((step) =>
        step.index < failing.index ? (step.compensation ? 5 : 0) : step === failing ? 4 : -1,
      ),
      orderStatusCode.failed,
    ]),
  ];
}

/**
 * The settled states of a saga its deadline failed: every step undid its success or never ran
 * (5: compensated, or a tombstone), but one step whose refusal crossed the deadline (4).
 */
export function timedOutOutcomes(saga: SagaMap): readonly (readonly number[])[] {
  const steps = saga.steps;
  return [
    [...steps.map(() => 5), orderStatusCode.failed],
    ...steps.map((refusing) => [
      ...steps.map((step) => (step === refusing ? 4 : 5)),
      orderStatusCode.failed,
    ]),
  ];
}

/** Whether the order's timeline holds its saga's deadline event. */
function timedOut(view: OrderView): boolean {
  const type = view.saga.deadline?.expired.type;
  return type !== undefined && view.events.some((event) => event.type === type);
}

/** How a step's status reads: the seed's codes, named after the step's own events. */
function stepStatusText(saga: SagaMap, step: StepName, status: number): string {
  const declared = saga.step(step);
  const named = (type: string | undefined, fallback: string) =>
    type?.startsWith(`${step}_`) ? type.slice(step.length + 1) : fallback;
  switch (status) {
    case -1:
      return 'no record';
    case 0:
      return named(declared?.success.type, 'succeeded');
    case 4:
      return 'rejected';
    case 5:
      return 'compensated';
    default:
      return 'unknown status';
  }
}
const orderStatusText: Readonly<Record<number, string>> = {
  [orderStatusCode.started]: 'created',
  [orderStatusCode.running]: 'updated',
  [orderStatusCode.completed]: 'completed',
  [orderStatusCode.failed]: 'cancelled',
};

/** What every service recorded about one order. */
export interface OrderView {
  /** The saga the order runs. */
  readonly saga: SagaMap;
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
  const saga = options.saga ?? foodSaga;
  const checks = options.checks ?? foodChecks;
  const findings: Finding[] = [];
  const orders = new Map(snapshot.orders.map((order) => [order.orderId, order]));
  findings.push(
    ...unknownOrders(snapshot, orders, saga),
    ...userMismatches(snapshot, orders, saga),
  );
  for (const view of orderViews(snapshot, saga)) {
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
      ...checks.flatMap((check) => check(view, saga)),
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
  for (const view of orderViews(snapshot, options.saga ?? foodSaga)) {
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

function orderViews(snapshot: ReconcileSnapshot, saga: SagaMap): OrderView[] {
  const stepNames = saga.steps.map((step) => step.name);
  const events = groupByOrder(snapshot.orderEvents);
  const steps = new Map(
    stepNames.map((step) => [
      step,
      new Map((snapshot.steps[step] ?? []).map((r) => [r.orderId, r])),
    ]),
  );
  const ledger = groupByOrder(snapshot.ledger);
  const reservations = groupByOrder(snapshot.reservations);
  const assignments = groupByOrder(snapshot.assignments);
  const notifications = groupByOrder(snapshot.notifications);
  const decisions = groupByOrder(snapshot.finalDecisions);
  return snapshot.orders.map((order) => {
    const id = order.orderId;
    const view = {
      saga,
      order,
      events: events.get(id) ?? [],
      steps: Object.fromEntries(stepNames.map((step) => [step, steps.get(step)?.get(id)])),
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

export function statusOf(view: OrderView, step: StepName): number {
  return view.steps[step]?.status ?? -1;
}

export function describeStep(view: OrderView, step: StepName, status: number): string {
  return `${step} ${status} (${stepStatusText(view.saga, step, status)})`;
}

function describeOrder(status: number): string {
  return `${status} (${orderStatusText[status] ?? 'unknown status'})`;
}

function stepNamesOf(view: OrderView): StepName[] {
  return view.saga.steps.map((step) => step.name);
}

/** The step statuses then the order's, e.g. `5/4/-1/5`. */
function formatStates(view: OrderView): string {
  return `${stepNamesOf(view)
    .map((step) => statusOf(view, step))
    .join('/')}/${view.order.status}`;
}

/** The names in `formatStates`' order, e.g. `restaurant/rider/payment/order`. */
function stateNames(saga: SagaMap): string {
  return `${saga.steps.map((step) => step.name).join('/')}/order`;
}

export function formatCents(cents: number): string {
  return `${(cents / 100).toFixed(2)}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Records of an order the order service does not know: every order starts there. */
function unknownOrders(
  snapshot: ReconcileSnapshot,
  orders: ReadonlyMap<string, OrderRecord>,
  saga: SagaMap,
): Finding[] {
  const sources: [string, readonly { readonly orderId: string }[]][] = [
    ...saga.steps.map(({ name }): [string, readonly StepRecord[]] => [
      `the ${name} service has a record`,
      snapshot.steps[name] ?? [],
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
  saga: SagaMap,
): Finding[] {
  const sources: [string, readonly { readonly orderId: string; readonly userId: string }[]][] = [
    ...saga.steps.map(({ name }): [string, readonly StepRecord[]] => [
      `the ${name} service's record`,
      snapshot.steps[name] ?? [],
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
      `(${stateNames(view.saga)} ${formatStates(view)}; last event ${last ? last.type : 'none'})`,
  };
}

/** The cached status must be the saga's verdict on the recorded events. */
function staleStatus(view: OrderView): Finding[] {
  const folded = orderStatusCode[view.saga.verdict(view.events.map((event) => event.type)).status];
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
  for (const step of view.saga.steps) {
    const record = view.steps[step.name];
    if (!record) continue;
    const { name } = step;
    if (record.status === 0) expected.push([name, step.success.type]);
    if (record.status === 4) expected.push([name, step.failure.type]);
    if (record.status === 5) {
      if (!record.compensatedBeforeForward) expected.push([name, step.success.type]);
      // A step the deadline reached before it ran says nothing (it undid nothing).
      const silent = record.compensatedBeforeForward && timedOut(view);
      if (step.compensation && !silent) expected.push([name, step.compensation.type]);
    }
  }
  return expected
    .filter(([, type]) => !recorded.has(type))
    .map(([step, type]) => ({
      orderId: view.order.orderId,
      kind: 'event-not-recorded',
      detail: `${describeStep(view, step, statusOf(view, step))} but the order never recorded ${type}`,
    }));
}

/** The step statuses and the order's against the outcomes the map allows. */
function stateFindings(view: OrderView): Finding[] {
  const orderId = view.order.orderId;
  const findings: Finding[] = [];
  const { saga } = view;
  const names = stepNamesOf(view);
  const status = (step: StepName) => statusOf(view, step);
  const last = saga.steps.at(-1);
  if (view.order.status === orderStatusCode.completed) {
    const undone = names.filter((step) => status(step) !== 0);
    if (undone.length > 0) {
      findings.push({
        orderId,
        kind: 'completed-but-step-not-done',
        detail: `order completed (2) but ${undone.map((step) => describeStep(view, step, status(step))).join(', ')}; a completed order has every step at 0`,
      });
    }
  }
  if (last && status(last.name) === 0) {
    for (const step of saga.steps.filter((step) => step.compensation)) {
      if (status(step.name) === 5) {
        findings.push({
          orderId,
          kind: 'completed-but-compensated',
          detail: `${describeStep(view, last.name, 0)}, the saga's last step, but ${describeStep(view, step.name, 5)}`,
        });
      }
    }
  }
  if (view.order.status === orderStatusCode.failed) {
    for (const step of saga.steps.filter((step) => step.compensation)) {
      if (status(step.name) === 0) {
        findings.push({
          orderId,
          kind: 'not-compensated',
          detail: `${describeStep(view, step.name, 0)} for a cancelled order; it should be 5 (compensated)`,
        });
      }
    }
    if (!names.some((step) => status(step) === 4) && !timedOut(view)) {
      findings.push({
        orderId,
        kind: 'cancelled-without-rejection',
        detail: `order cancelled (5) but no step rejected it (${stateNames(saga)} ${formatStates(view)})`,
      });
    }
  }
  const states = [...names.map(status), view.order.status];
  const outcomes = timedOut(view) ? timedOutOutcomes(saga) : sagaOutcomes(saga);
  const isOutcome = outcomes.some((outcome) => outcome.every((s, i) => s === states[i]));
  if (findings.length === 0 && !isOutcome) {
    findings.push({
      orderId,
      kind: 'unexpected-states',
      detail: `${stateNames(saga)} ${states.join('/')} is none of the saga's outcomes (${outcomes.map((outcome) => outcome.join('/')).join(', ')})`,
    });
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
        view.saga.finalEvents.some((final) => final.type === event.type) &&
        !decided.has(event.eventId) &&
        now.getTime() - event.recordedAt.getTime() > options.stuckAfterMs,
    )
    .map((event) => ({
      orderId: view.order.orderId,
      kind: 'final-event-undecided' as const,
      detail: `the bff never decided whether to notify ${event.type} ${event.eventId} (recorded ${Math.round((now.getTime() - event.recordedAt.getTime()) / 1_000)} s ago)`,
    }));
}
