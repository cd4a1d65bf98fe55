import { describe, expect, it } from 'vitest';
import { chooseChannel } from './choose-channel.ts';

describe('chooseChannel', () => {
  it('splits [0, 1) evenly over email, sms and push', () => {
    expect(chooseChannel(() => 0)).toBe('email');
    expect(chooseChannel(() => 0.33)).toBe('email');
    expect(chooseChannel(() => 0.34)).toBe('sms');
    expect(chooseChannel(() => 0.66)).toBe('sms');
    expect(chooseChannel(() => 0.67)).toBe('push');
    expect(chooseChannel(() => 0.999_999)).toBe('push');
  });

  it('still yields a channel when the source is out of range', () => {
    expect(chooseChannel(() => 1)).toBe('push');
    expect(chooseChannel(() => -0.5)).toBe('email');
    expect(chooseChannel(() => Number.NaN)).toBe('email');
  });
});
