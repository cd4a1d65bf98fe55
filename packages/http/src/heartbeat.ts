export interface HeartbeatOptions<T> {
  /** Each member's beat comes once per interval (the first one within an interval of `add`). */
  readonly intervalMs: number;
  /** Called for each member on its beat; it may `delete` members (itself included). */
  readonly beat: (member: T) => void;
  /** Ticks per interval the work is spread over. Default 20. */
  readonly slots?: number;
}

/** Periodic work for many long-lived connections (heartbeats, liveness pings). */
export interface Heartbeat<T> {
  add(member: T): void;
  delete(member: T): void;
  readonly size: number;
  /** The members, in the order they were added. */
  members(): IterableIterator<T>;
}

/**
 * One timer for any number of members, instead of one per member. It ticks `slots` times per
 * interval and each tick beats one slot, members being placed in the slots round-robin: the
 * work of N members arrives as N ÷ slots every tick, never as one burst of N that would hold
 * up everything else the process has to do (a live event waiting to go out, say), whether the
 * members came one by one or all at once after a restart.
 *
 * Guarantees: every member is beaten once per `intervalMs` while it is a member (the first
 * time within `intervalMs` of `add`), never after `delete` returns. The timer runs only while
 * there are members and never keeps the process alive.
 */
export function createHeartbeat<T>(options: HeartbeatOptions<T>): Heartbeat<T> {
  const slotCount = Math.max(1, Math.floor(options.slots ?? 20));
  const slots = Array.from({ length: slotCount }, () => new Set<T>());
  const slotOf = new Map<T, Set<T>>();
  let placeNext = 0;
  let beatNext = 0;
  let timer: NodeJS.Timeout | undefined;

  function tick(): void {
    const slot = slots[beatNext];
    beatNext = (beatNext + 1) % slotCount;
    // A Set iteration skips members deleted by a beat before their turn.
    if (slot) for (const member of slot) options.beat(member);
  }

  return {
    add(member) {
      if (slotOf.has(member)) return;
      const slot = slots[placeNext];
      if (!slot) return;
      placeNext = (placeNext + 1) % slotCount;
      slot.add(member);
      slotOf.set(member, slot);
      if (!timer) {
        timer = setInterval(tick, options.intervalMs / slotCount);
        timer.unref();
      }
    },
    delete(member) {
      const slot = slotOf.get(member);
      if (!slot) return;
      slot.delete(member);
      slotOf.delete(member);
      if (slotOf.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    },
    get size() {
      return slotOf.size;
    },
    members: () => slotOf.keys(),
  };
}
