import type { NotificationInbox } from '@cads/bff/contracts';
import { describe, expect, it } from 'vitest';
import {
  createSeenNotifications,
  maxRememberedIds,
  seenStorageKey,
  unseenIds,
  withSeen,
} from './seen-notifications.ts';

function notification(eventId: string): NotificationInbox[number] {
  return {
    eventId,
    orderId: `order-${eventId}`,
    userId: 'u1',
    kind: 'finished',
    message: 'Your order is on its way',
    channel: 'email',
    createdAt: '2025-01-01T12:00:00.000Z',
  };
}

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    items,
  };
}

describe('seen notifications', () => {
  it('counts the notifications not seen yet', () => {
    const inbox = [notification('c'), notification('b'), notification('a')];
    expect(unseenIds(inbox, new Set(['a'])).size).toBe(2);
    expect(unseenIds(inbox, withSeen(new Set(), inbox)).size).toBe(0);
  });

  it('remembers what was seen across page loads', () => {
    const storage = memoryStorage();
    const inbox = [notification('b'), notification('a')];
    createSeenNotifications(storage).save(withSeen(new Set(), inbox));
    const reloaded = createSeenNotifications(storage).load();
    expect(unseenIds([notification('c'), ...inbox], reloaded)).toEqual(new Set(['c']));
  });

  it('forgets the oldest ids beyond its limit, never the current inbox', () => {
    const storage = memoryStorage();
    const seen = createSeenNotifications(storage);
    const old = new Set(Array.from({ length: maxRememberedIds }, (_, i) => `old-${i}`));
    const inbox = [notification('new-2'), notification('new-1')];
    seen.save(withSeen(old, inbox));
    const kept = seen.load();
    expect(kept.size).toBe(maxRememberedIds);
    expect(unseenIds(inbox, kept).size).toBe(0);
    expect(kept.has('old-0')).toBe(false);
  });

  it('survives unreadable or unavailable storage', () => {
    expect(createSeenNotifications(memoryStorage({ [seenStorageKey]: '{nope' })).load().size).toBe(
      0,
    );
    const failing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    const seen = createSeenNotifications(failing);
    seen.save(new Set(['a']));
    expect(seen.load()).toEqual(new Set(['a']));
    const none = createSeenNotifications(undefined);
    none.save(new Set(['b']));
    expect(none.load()).toEqual(new Set(['b']));
  });
});
