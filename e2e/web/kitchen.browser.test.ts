import { chromiumSkipReason } from '@cads/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kitchenRefusal } from '../kitchen/kitchen.ts';
import { type KitchenSystem, startKitchenSystem } from '../kitchen/kitchen-system.ts';
import { noDelays, sagaClient } from '../saga/saga-client.ts';
import { guardPage, launchChromium, screenshot } from './browser.ts';

const chromiumMissing = await chromiumSkipReason();

const poll = <T>(read: () => T | Promise<T>, message?: string) =>
  expect.poll(read, { timeout: 20_000, interval: 100, ...(message ? { message } : {}) });

/**
 * The web page of a saga with a fifth step it was never told about: the page draws the steps of
 * the map the BFF serves, so the kitchen (declared in a test fixture) appears between the
 * restaurant and the rider, and its refusal shows in red with its reason.
 */
describe.skipIf(chromiumMissing)('the web app draws an added step', { timeout: 90_000 }, () => {
  let sut: KitchenSystem;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    sut = await startKitchenSystem();
    await sagaClient(sut.system).configure(noDelays);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sut?.dispose();
    expect(problems).toEqual([]);
  });

  async function order(dishes: Record<string, number>): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    guardPage(page, sut.system.urls.bff, problems);
    await page.goto(`${sut.system.urls.bff}/`);
    await page.getByTestId('restaurant-48hbfe4').click();
    for (const [dish, amount] of Object.entries(dishes)) {
      await page.getByTestId(`qty-${dish}`).fill(String(amount));
    }
    await page.getByTestId('place-order').click();
    await page.getByTestId('order-view').waitFor();
    return page;
  }

  const stepNames = async (page: Page) => {
    const steps = page.locator('[data-testid^="step-"][data-state]');
    const names: (string | null)[] = [];
    for (let index = 0; index < (await steps.count()); index++) {
      names.push(await steps.nth(index).getAttribute('data-testid'));
    }
    return names;
  };

  it('shows five steps, the kitchen refused in red with its reason', async () => {
    const page = await order({ p01: 1, p03: 1 });
    await poll(() => page.getByTestId('step-kitchen').getAttribute('data-state')).toBe('rejected');
    expect(await stepNames(page)).toEqual([
      'step-order',
      'step-restaurant',
      'step-kitchen',
      'step-rider',
      'step-payment',
    ]);
    await poll(() => page.getByTestId('step-kitchen-reason').textContent()).toContain(
      kitchenRefusal,
    );
    await poll(() => page.getByTestId('step-restaurant').getAttribute('data-state')).toBe(
      'compensated',
    );
    for (const step of ['rider', 'payment']) {
      expect(await page.getByTestId(`step-${step}`).getAttribute('data-state')).toBe('pending');
    }
    // Red: the rejected step takes the danger variant, its reason the danger colour.
    expect(await page.getByTestId('step-kitchen').getAttribute('variant')).toBe('danger');
    const colour = await page
      .getByTestId('step-kitchen-reason')
      // Runs in the page; this file is compiled without the DOM's types.
      .evaluate(
        (element) =>
          (
            globalThis as unknown as { getComputedStyle(node: unknown): { color: string } }
          ).getComputedStyle(element).color,
      );
    const [red = 0, green = 0, blue = 0] = (colour.match(/[\d.]+/g) ?? []).map(Number);
    expect(red, colour).toBeGreaterThan(green + 60);
    expect(red, colour).toBeGreaterThan(blue + 60);
    await screenshot(page, 'kitchen-refused');
    await page.context().close();
  });

  it('shows the kitchen done with its shown field when every step accepts', async () => {
    const page = await order({ p01: 2 });
    await poll(() => page.getByTestId('step-payment').getAttribute('data-state')).toBe('done');
    expect(await page.getByTestId('step-kitchen').getAttribute('data-state')).toBe('done');
    await poll(() => page.getByTestId('step-kitchen-readyInMinutes').textContent()).toContain('20');
    await screenshot(page, 'kitchen-completed');
    await page.context().close();
  });
});
