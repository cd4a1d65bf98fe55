import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHeartbeat } from './heartbeat.ts';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('createHeartbeat', () => {
  it('beats every member once per interval, spread evenly over it', () => {
    const beats: { member: number; at: number }[] = [];
    const heartbeat = createHeartbeat<number>({
      intervalMs: 1_000,
      slots: 10,
      beat: (member) => beats.push({ member, at: Date.now() }),
    });
    const start = Date.now();
    // All at once, as after a restart: the work must still be spread.
    for (let member = 0; member < 100; member++) heartbeat.add(member);
    vi.advanceTimersByTime(1_000);
    expect(beats.map((beat) => beat.member).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, member) => member),
    );
    const perTick = new Map<number, number>();
    for (const beat of beats) perTick.set(beat.at, (perTick.get(beat.at) ?? 0) + 1);
    expect([...perTick.values()]).toEqual(Array<number>(10).fill(10));

    beats.length = 0;
    vi.advanceTimersByTime(3_000);
    expect(beats).toHaveLength(300);
    // Each member exactly one interval after its previous beat.
    const last = new Map<number, number>();
    for (const { member, at } of beats) {
      expect(at - (last.get(member) ?? at - 1_000)).toBe(1_000);
      last.set(member, at);
    }
    expect(Math.min(...last.values()) - start).toBeGreaterThan(3_000);
  });

  it('never beats a member after delete, also when a beat deletes', () => {
    const beaten: string[] = [];
    const heartbeat = createHeartbeat<string>({
      intervalMs: 100,
      slots: 1,
      beat(member) {
        beaten.push(member);
        if (member === 'a') heartbeat.delete('b');
      },
    });
    heartbeat.add('a');
    heartbeat.add('b');
    heartbeat.add('c');
    heartbeat.delete('c');
    expect(heartbeat.size).toBe(2);
    expect([...heartbeat.members()]).toEqual(['a', 'b']);
    vi.advanceTimersByTime(250);
    expect(beaten).toEqual(['a', 'a']);
  });

  it('runs its timer only while it has members', () => {
    const heartbeat = createHeartbeat<string>({ intervalMs: 100, beat: () => undefined });
    expect(vi.getTimerCount()).toBe(0);
    heartbeat.add('a');
    heartbeat.add('a');
    expect(heartbeat.size).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    heartbeat.delete('a');
    expect(vi.getTimerCount()).toBe(0);
  });
});
