import type { NotificationInbox } from '@cads/bff/contracts';

/**
 * Which notifications this browser has shown the user, so the header's badge counts only new
 * ones. Kept in `localStorage` by notification (event) id; when storage is unavailable (private
 * mode, quota) it lasts until the page is closed.
 */
export interface SeenNotifications {
  load(): ReadonlySet<string>;
  save(ids: ReadonlySet<string>): void;
}

export const seenStorageKey = 'cads.seenNotifications';
/** Enough for any inbox (the BFF lists at most 100); older ids are forgotten first. */
export const maxRememberedIds = 500;

export function createSeenNotifications(
  storage: Pick<Storage, 'getItem' | 'setItem'> | undefined,
): SeenNotifications {
  let memory: ReadonlySet<string> = new Set();
  return {
    load() {
      try {
        const stored = storage?.getItem(seenStorageKey);
        const ids: unknown = stored ? JSON.parse(stored) : undefined;
        if (Array.isArray(ids)) {
          memory = new Set(ids.filter((id): id is string => typeof id === 'string'));
        }
      } catch {
        // Unreadable or unavailable storage: keep what this page saw.
      }
      return memory;
    },
    save(ids) {
      memory = new Set([...ids].slice(-maxRememberedIds));
      try {
        storage?.setItem(seenStorageKey, JSON.stringify([...memory]));
      } catch {
        // Storage full or denied: the in-memory set still serves this page.
      }
    },
  };
}

export function unseenIds(inbox: NotificationInbox, seen: ReadonlySet<string>): Set<string> {
  return new Set(inbox.map(({ eventId }) => eventId).filter((id) => !seen.has(id)));
}

/** `seen` plus every notification of the inbox, the newest kept last (forgotten last). */
export function withSeen(seen: ReadonlySet<string>, inbox: NotificationInbox): Set<string> {
  const inboxIds = inbox.map(({ eventId }) => eventId).reverse();
  const inInbox = new Set(inboxIds);
  return new Set([...[...seen].filter((id) => !inInbox.has(id)), ...inboxIds]);
}
