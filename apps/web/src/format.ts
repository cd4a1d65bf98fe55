/**
 * Every number and date the page shows goes through here, so they look the same everywhere.
 * Money stays integer cents; only `formatCents` turns it into text ("€9.50").
 */
const euros = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });
const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat('en-GB', { timeStyle: 'short' });

export function formatCents(cents: number): string {
  return euros.format(cents / 100);
}

/** "3 Jan 2025, 12:30" in the browser's time zone; `undefined` for a malformed time. */
export function formatDateTime(iso: string): string | undefined {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : dateTime.format(date);
}

/** "12:30"; `undefined` for a malformed time. */
export function formatTime(iso: string): string | undefined {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : timeOnly.format(date);
}
