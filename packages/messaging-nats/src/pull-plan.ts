/**
 * How one subscription spends its `maxInFlight` credit on pull requests. Pure, so the policy is
 * specified by unit tests rather than discovered under load.
 *
 * A subscription has one JetStream consumer ("lane") per event type, because NATS 2.9 has no
 * `filter_subjects`. Credit is shared: deliveries in flight plus messages requested and not yet
 * received never exceed `maxInFlight`, since a message the server has handed to this member is
 * unavailable to the other members of its group until it is settled or its ack wait expires.
 */

/** What the planner needs to know about one lane. */
export interface LaneCredit {
  /** Messages requested from the server and not received yet. */
  readonly remaining: number;
  /** Whether another pull request may be opened now (an idle slot, not backing off). */
  readonly canPull: boolean;
  /** How many messages this lane should have requested at once (see `nextTarget`). */
  readonly target: number;
}

export interface PlannedPull {
  readonly lane: number;
  readonly batch: number;
}

/**
 * Splits `free` credit into pull requests. Lanes with nothing requested come first, in
 * round-robin order from `start`, so a quiet type always has a request waiting and never queues
 * behind a busy one; lanes that already wait for messages are topped up after them. A request
 * asks for at least `quantum` messages (or the lane's whole target, if smaller): otherwise a
 * saturated subscription would send one pull per ack. Never plans more than `free` in total.
 */
export function planPulls(
  lanes: readonly LaneCredit[],
  free: number,
  start: number,
  quantum: number,
): PlannedPull[] {
  const plan: PlannedPull[] = [];
  const count = lanes.length;
  for (let i = 0; i < count && free > 0; i++) {
    const index = (start + i) % count;
    const lane = lanes[index]!;
    if (lane.remaining > 0 || !lane.canPull || lane.target < 1) continue;
    const batch = Math.min(free, lane.target);
    if (batch < Math.min(lane.target, quantum)) continue;
    plan.push({ lane: index, batch });
    free -= batch;
  }
  for (let i = 0; i < count && free > 0; i++) {
    const index = (start + i) % count;
    const lane = lanes[index]!;
    if (lane.remaining === 0 || !lane.canPull) continue;
    const batch = Math.min(free, lane.target - lane.remaining);
    if (batch < Math.max(1, quantum)) continue;
    plan.push({ lane: index, batch });
    free -= batch;
  }
  return plan;
}

export interface TargetBounds {
  readonly initial: number;
  readonly floor: number;
  readonly cap: number;
  /** The smallest request worth sending: a quarter of a lane's initial share. */
  readonly quantum: number;
}

/**
 * A single lane may request all the credit. Several lanes start with an equal share; a busy lane
 * may grow to all but one message per other lane, so every other lane can keep a one-message
 * request waiting; an idle lane shrinks to that one message.
 */
export function targetBounds(maxInFlight: number, lanes: number): TargetBounds {
  const quantum = (initial: number) => Math.max(1, Math.ceil(initial / 4));
  if (lanes <= 1) {
    return {
      initial: maxInFlight,
      floor: maxInFlight,
      cap: maxInFlight,
      quantum: quantum(maxInFlight),
    };
  }
  const initial = Math.max(1, Math.floor(maxInFlight / lanes));
  return {
    initial,
    floor: 1,
    cap: Math.max(1, maxInFlight - (lanes - 1)),
    quantum: quantum(initial),
  };
}

/**
 * Adapts a lane's target after one of its pull requests ended: a request that was filled means
 * more messages are waiting, so the target doubles; one that expired half-empty means the lane
 * is quiet, so it halves, but not below twice what the request did receive.
 */
export function nextTarget(
  target: number,
  outcome: { readonly filled: boolean; readonly received: number },
  bounds: TargetBounds,
): number {
  const next = outcome.filled ? target * 2 : Math.max(Math.ceil(target / 2), outcome.received * 2);
  return Math.min(bounds.cap, Math.max(bounds.floor, next));
}
