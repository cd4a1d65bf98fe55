import { testCredentials } from '@cads/testing';
import { bffService } from '@cads/bff';
import { waitFor } from '@cads/messaging/testing';
import { createService, type Service } from '@cads/service';
import { chromiumSkipReason } from '@cads/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { defaultWebRoot } from '@cads/cli/system';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noDelays, sagaClient, seedOutcomes } from '../saga/saga-client.ts';
import {
  adminToken,
  sessionSecret,
  type SystemUnderTest,
  systemVariants,
} from '../saga/system-harness.ts';
import { guardPage, launchChromium, screenshot } from './browser.ts';

const chromiumMissing = await chromiumSkipReason();
const variants = await systemVariants();
const preferred = variants.findLast((candidate) => !candidate.skip) ?? variants[0]!;

type Outcome = (typeof seedOutcomes)[number];

/**
 * `expect.poll` with a deadline that suits a busy 2-core machine running other suites: a page
 * condition is awaited, never slept for.
 */
const poll = <T>(
  read: () => T | Promise<T>,
  options: { timeout?: number; message?: string } = {},
) => expect.poll(read, { timeout: 15_000, interval: 100, ...options });

/** What the page shows for each seed outcome: each step's state, the failed step's reason. */
const expectedSteps: Record<Outcome['name'], Record<string, string>> = {
  'all accept': { order: 'done', restaurant: 'done', rider: 'done', payment: 'done' },
  'restaurant answers 503': { order: 'done', restaurant: 'rejected' },
  'rider answers 404': { order: 'done', restaurant: 'compensated', rider: 'rejected' },
  'payment answers 402': {
    order: 'done',
    restaurant: 'compensated',
    rider: 'compensated',
    payment: 'rejected',
  },
};
const rejectedStep = (outcome: Outcome) =>
  Object.entries(expectedSteps[outcome.name]).find(([, state]) => state === 'rejected')?.[0];
const notificationKind = (outcome: Outcome) => {
  const step = rejectedStep(outcome);
  return step ? `${step}_rejected` : 'finished';
};

/**
 * Each step answers after `ms`, so there is time to watch, with the outcome's answers merged in
 * per step (a failing step waits too).
 */
const stepDelays = (
  ms: number,
  answers: { readonly [system: string]: { readonly post?: object } | undefined } = {},
) =>
  Object.fromEntries(
    ['restaurant', 'rider', 'payment'].map((system) => [
      system,
      {
        post: { delay: ms, randomDelay: 0, ...answers[system]?.post },
        delete: { delay: 0, randomDelay: 0 },
      },
    ]),
  );

describe.skipIf(chromiumMissing)(
  `the web app in Chromium (${preferred.name})`,
  { timeout: 90_000 },
  () => {
    let sut: SystemUnderTest;
    let browser: Browser;
    let wsBff: Service;
    /** The BFF of the system (SSE) and a second instance configured for WebSocket. */
    const origins = { sse: '', ws: '' };
    let client: ReturnType<typeof sagaClient>;
    const problems: string[] = [];

    beforeAll(async () => {
      sut = await preferred.start();
      client = sagaClient(sut.system);
      await client.configure(noDelays);
      wsBff = await createService(
        bffService({
          orderUrl: sut.system.urls.order,
          notificationsUrl: sut.system.urls.notifications,
          sessionSecret,
          credentials: testCredentials('bff'),
          operatorToken: adminToken,
          transport: 'ws',
          webRoot: defaultWebRoot,
        }).definition,
        {
          db: sut.system.databases.bff,
          broker: sut.system.broker,
          logger: pino({ level: 'silent' }),
        },
      );
      await wsBff.start();
      origins.sse = sut.system.urls.bff;
      origins.ws = await wsBff.app.listen({ host: '127.0.0.1', port: 0 });
      browser = await launchChromium();
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await wsBff?.stop();
      await sut?.dispose();
      expect(problems).toEqual([]);
    });

    /** A new visitor (own cookies) on one BFF instance, and their user id. */
    async function visitor(
      transport: 'sse' | 'ws',
    ): Promise<{ context: BrowserContext; page: Page; userId: string }> {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      guardPage(page, origins[transport], problems);
      await page.goto(`${origins[transport]}/`);
      await poll(() => page.getByTestId('restaurant-48hbfe4').count()).toBe(1);
      const session = (await (
        await page.request.get(`${origins[transport]}/api/session`)
      ).json()) as {
        userId: string;
      };
      return { context, page, userId: session.userId };
    }

    /** The seed's order through the page: Pizzeria, 3 × p01 (typed) + 2 × p02 (clicked). */
    async function placeSeedOrder(page: Page): Promise<string> {
      await page.getByTestId('restaurant-48hbfe4').click();
      await page.getByTestId('qty-p01').fill('3');
      await page.getByTestId('inc-p02').click();
      await page.getByTestId('inc-p02').click();
      await poll(() => page.getByTestId('order-total').textContent()).toMatch(/52[.,]30/);
      await page.getByTestId('place-order').click();
      const view = page.getByTestId('order-view');
      await view.waitFor();
      const orderId = await view.getAttribute('data-order-id');
      if (!orderId) throw new Error('the order view names no order');
      return orderId;
    }

    async function expectSteps(page: Page, outcome: Outcome): Promise<void> {
      for (const [step, state] of Object.entries(expectedSteps[outcome.name])) {
        await poll(() => page.getByTestId(`step-${step}`).getAttribute('data-state'), {
          timeout: 45_000,
          message: `step ${step}`,
        }).toBe(state);
      }
      const failed = rejectedStep(outcome);
      if (failed && 'reason' in outcome) {
        await poll(() => page.getByTestId(`step-${failed}-reason`).textContent()).toContain(
          outcome.reason,
        );
      }
    }

    /** Waits until the BFF decided about the order's final event; whether it notified. */
    async function finalEventDecided(orderId: string): Promise<boolean> {
      return waitFor(
        `the final event of ${orderId} decided`,
        async () => {
          const { rows } = await sut.system.databases.bff.query<{ notified: boolean }>(
            'select notified from bff_final_events where order_id = $1',
            [orderId],
          );
          return rows[0] && { notified: rows[0].notified };
        },
        { timeoutMs: 20_000 },
      ).then((decision) => decision.notified);
    }

    /** Waits until the BFF holds no live connection of the user to the order. */
    async function userLeft(userId: string, orderId: string): Promise<void> {
      await waitFor(
        `${userId} gone from ${orderId}`,
        async () => {
          const { rows } = await sut.system.databases.bff.query(
            'select 1 from bff_presence where user_id = $1 and order_id = $2',
            [userId, orderId],
          );
          return rows.length === 0;
        },
        { timeoutMs: 20_000 },
      );
    }

    for (const transport of ['sse', 'ws'] as const) {
      for (const outcome of seedOutcomes) {
        it(`${outcome.name}, user watching over ${transport}: live steps, no notification`, async () => {
          const { context, page, userId } = await visitor(transport);
          await client.configure(stepDelays(150, outcome.config), `user:${userId}`);
          const orderId = await placeSeedOrder(page);
          await poll(() => page.getByTestId('live-status').getAttribute('data-transport')).toBe(
            transport,
          );
          await expectSteps(page, outcome);
          await poll(() => page.getByTestId('order-status').getAttribute('data-final')).toBe(
            'true',
          );
          if (outcome.name === 'all accept') {
            // The shown fields of the saga's map, under their steps.
            await poll(() => page.getByTestId('step-payment-receiptId').textContent()).not.toBe('');
            await poll(() => page.getByTestId('step-payment-amountCents').textContent()).toMatch(
              /52[.,]30/,
            );
            await poll(() => page.getByTestId('step-rider-riderName').textContent()).not.toBe('');
            await poll(() =>
              page.getByTestId('step-restaurant-restaurantPhone').textContent(),
            ).toContain('+34');
            if (transport === 'sse') await screenshot(page, 'order-completed');
          } else if (transport === 'sse') {
            await screenshot(page, `order-${rejectedStep(outcome)}-rejected`);
          }
          await client.settles(orderId, outcome.states);
          await finalEventDecided(orderId);
          const inbox = (await (
            await page.request.get(`${origins[transport]}/api/notifications`)
          ).json()) as unknown[];
          expect(inbox).toEqual([]);
          await context.close();
        });
      }
    }

    for (const [index, outcome] of seedOutcomes.entries()) {
      const transport = index % 2 === 0 ? 'sse' : 'ws';
      it(`${outcome.name}, user leaves (${transport}): exactly one ${notificationKind(outcome)} notification`, async () => {
        const { context, page, userId } = await visitor(transport);
        await client.configure(stepDelays(700, outcome.config), `user:${userId}`);
        // The saga starts only once the BFF has seen the page go: on a busy machine a page takes
        // longer to close than a step to answer, and a final event that reaches the page still
        // open is rightly not notified.
        const restaurant = sut.system.services.restaurant.consumer!;
        await restaurant.stop();
        let orderId: string;
        try {
          orderId = await placeSeedOrder(page);
          await page.close();
          await userLeft(userId, orderId);
        } finally {
          await restaurant.start();
        }
        await client.settles(orderId, outcome.states);
        expect(await finalEventDecided(orderId)).toBe(true);

        // Back later: the inbox holds one notification of the right kind for that order.
        const back = await context.newPage();
        guardPage(back, origins[transport], problems);
        await back.goto(`${origins[transport]}/`);
        await poll(() => back.getByTestId('notifications-badge').textContent()).toBe('1');
        await back.getByTestId('nav-notifications').click();
        const items = back.getByTestId('notification-item');
        await poll(() => items.count()).toBe(1);
        expect(await items.first().getAttribute('data-kind')).toBe(notificationKind(outcome));
        expect(await items.first().getAttribute('data-order-id')).toBe(orderId);
        if (index === 0) await screenshot(back, 'notifications');
        await context.close();
      });
    }

    it('a reload mid-saga shows the right state and keeps going', async () => {
      const { context, page, userId } = await visitor('sse');
      await client.configure(stepDelays(900), `user:${userId}`);
      const orderId = await placeSeedOrder(page);
      await poll(() => page.getByTestId('step-restaurant').getAttribute('data-state'), {
        timeout: 10_000,
      }).toBe('done');
      await page.reload();
      await page.getByTestId('order-view').waitFor();
      expect(await page.getByTestId('order-view').getAttribute('data-order-id')).toBe(orderId);
      expect(await page.getByTestId('step-restaurant').getAttribute('data-state')).toBe('done');
      await expectSteps(page, seedOutcomes[0]);
      await client.settles(orderId, seedOutcomes[0].states);
      await context.close();
    });

    it('says when it is taking a while, and keeps the history', async () => {
      const { context, page, userId } = await visitor('sse');
      await client.configure(stepDelays(2_500), `user:${userId}`);
      const orderId = await placeSeedOrder(page);
      await page.getByTestId('slow-notice').waitFor({ timeout: 30_000 });
      await screenshot(page, 'order-in-progress');
      await client.settles(orderId, seedOutcomes[0].states, 30_000);
      await page.getByTestId('nav-history').click();
      await page.getByTestId(`history-item-${orderId}`).waitFor();
      await screenshot(page, 'history');
      await context.close();
    });

    it('draws the steps of the map the BFF serves, and retries when it cannot get it', async () => {
      const { context, page, userId } = await visitor('sse');
      await client.configure(noDelays, `user:${userId}`);
      const orderId = await placeSeedOrder(page);
      await client.settles(orderId, seedOutcomes[0].states);
      const served = (await (await page.request.get(`${origins.sse}/api/saga`)).json()) as {
        start: { label: string; producer: string };
        steps: { name: string; label: string }[];
      };
      const steps = [
        { name: served.start.producer, label: served.start.label },
        ...served.steps.map(({ name, label }) => ({ name, label })),
      ];
      const drawn = page.locator('wa-step');
      await poll(() => drawn.count()).toBe(steps.length);
      for (const [index, { name, label }] of steps.entries()) {
        expect(await drawn.nth(index).getAttribute('name')).toBe(name);
        expect(await drawn.nth(index).textContent()).toContain(label);
      }

      // A fresh page that cannot get the map says so, and draws the steps once it can.
      let refusals = 2;
      await page.route('**/api/saga', (route) =>
        refusals-- > 0 ? route.abort('connectionfailed') : route.continue(),
      );
      await page.reload();
      await poll(() => page.getByTestId('saga-error').count()).toBe(1);
      await poll(() => drawn.count(), { timeout: 20_000 }).toBe(steps.length);
      expect(await page.getByTestId('saga-error').count()).toBe(0);
      expect(refusals).toBeLessThan(0);
      await context.close();
    });

    it('a first visit has one identity: nothing tied to the user is asked before the session', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      guardPage(page, origins.sse, problems);
      const sent: string[] = [];
      page.on('request', (request) => sent.push(new URL(request.url()).pathname));
      // A slow session answer: before the fix, the inbox request (without a cookie yet) made
      // the BFF mint a second guest, and the last answer's cookie won.
      let sessionAnswered = false;
      await page.route('**/api/session', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await route.continue();
        sessionAnswered = true;
      });
      const askedEarly: string[] = [];
      page.on('request', (request) => {
        const path = new URL(request.url()).pathname;
        if (!sessionAnswered && (path === '/api/notifications' || path === '/api/menu')) {
          askedEarly.push(path);
        }
      });
      await page.goto(`${origins.sse}/`);
      await poll(() => page.getByTestId('restaurant-48hbfe4').count()).toBe(1);
      expect(askedEarly).toEqual([]);
      expect(sent).toContain('/api/notifications');
      // Every request of the page carried the one cookie the session answer set.
      const cookies = await context.cookies();
      const { userId } = (await (await page.request.get(`${origins.sse}/api/session`)).json()) as {
        userId: string;
      };
      expect(cookies.length).toBe(1);
      expect((await context.cookies()).map((cookie) => cookie.value)).toEqual(
        cookies.map((cookie) => cookie.value),
      );
      expect(userId).toMatch(/^u-/);
      await context.close();
    });

    it('another user cannot see an order, and errors are shown, not swallowed', async () => {
      const owner = await visitor('sse');
      await client.configure(noDelays, `user:${owner.userId}`);
      const orderId = await placeSeedOrder(owner.page);
      await screenshot(owner.page, 'menu-and-order');

      const stranger = await visitor('ws');
      await stranger.page.goto(`${origins.ws}/#/orders/${orderId}`);
      await stranger.page.getByTestId('order-not-found').waitFor();
      await poll(() => stranger.page.getByTestId('order-view').count()).toBe(0);

      // The network fails while placing an order: a clear message, the cart kept.
      await stranger.page.goto(`${origins.ws}/`);
      await stranger.page.route('**/api/orders', (route) => route.abort('connectionfailed'));
      await stranger.page.getByTestId('restaurant-48hbfe4').click();
      await stranger.page.getByTestId('qty-p01').fill('2');
      await stranger.page.getByTestId('place-order').click();
      await stranger.page.getByTestId('order-error').waitFor();
      expect(await stranger.page.getByTestId('qty-p01').inputValue()).toBe('2');
      await stranger.page.unroute('**/api/orders');

      // The server refuses an order (here: more than it accepts of a dish): its reason is shown.
      await stranger.page.getByTestId('qty-p01').fill('50');
      await stranger.page.getByTestId('restaurant-48hbfe4').click();
      await stranger.page.route('**/api/orders', (route) =>
        route.continue({
          postData: JSON.stringify({
            restaurantId: '48hbfe4',
            cart: [{ itemId: 'p01', amount: 51 }],
          }),
        }),
      );
      await stranger.page.getByTestId('place-order').click();
      await poll(() => stranger.page.getByTestId('order-error').textContent()).toMatch(/amount/);
      await owner.context.close();
      await stranger.context.close();
    });

    // Two browsers, six screens and four scrypt hashes: longer than the others on a busy machine.
    it(
      'a guest signs up and keeps their order; signs out; signs in again and finds it in the history',
      { timeout: 180_000 },
      async () => {
        const { context, page, userId } = await visitor('sse');
        await client.configure(noDelays, `user:${userId}`);
        const orderId = await placeSeedOrder(page);
        await client.settles(orderId, seedOutcomes[0].states);
        const account = page.getByTestId('account');
        expect(await account.getAttribute('data-state')).toBe('guest');
        const email = `ana-${orderId}@example.org`;
        const password = 'a long enough password';
        const sessionCookie = async () =>
          (await context.cookies()).find((cookie) => cookie.name === 'cads_session')?.value;
        const guestCookie = await sessionCookie();

        await page.getByTestId('sign-up').click();
        await page.getByTestId('sign-up-screen').waitFor();
        await page.setViewportSize({ width: 390, height: 844 });
        await screenshot(page, 'sign-up-phone');
        await page.setViewportSize({ width: 1280, height: 860 });
        await page.getByTestId('account-name').fill('Ana');
        await page.getByTestId('account-email').fill(email);
        await page.getByTestId('account-password').fill(password);
        await screenshot(page, 'sign-up');
        await page.getByTestId('account-submit').click();
        await poll(() => account.getAttribute('data-state')).toBe('signed-in');
        expect(await page.getByTestId('user-email').textContent()).toBe(email);
        expect(await page.getByTestId('user-name').textContent()).toBe('Ana');
        // The session was replaced, for the same user: the guest's order is the account's.
        expect(await sessionCookie()).not.toBe(guestCookie);
        const session = (await (await page.request.get(`${origins.sse}/api/session`)).json()) as {
          userId: string;
        };
        expect(session.userId).toBe(userId);
        await page.getByTestId('nav-history').click();
        await page.getByTestId(`history-item-${orderId}`).waitFor();
        await screenshot(page, 'signed-in-history');

        await page.getByTestId('sign-out').click();
        await poll(() => account.getAttribute('data-state')).toBe('guest');
        await page.getByText('No orders yet').waitFor();
        expect(await page.getByTestId(`history-item-${orderId}`).count()).toBe(0);

        // A wrong password: the server's reason, shown on the form.
        await page.getByTestId('sign-in').click();
        await page.getByTestId('sign-in-screen').waitFor();
        await page.getByTestId('account-email').fill(email);
        await page.getByTestId('account-password').fill('not the password');
        await page.getByTestId('account-submit').click();
        await poll(() => page.getByTestId('account-error').textContent()).toContain(
          'The email or password is wrong.',
        );
        await screenshot(page, 'sign-in-refused');
        await page.getByTestId('account-password').fill(password);
        await page.getByTestId('account-submit').click();
        await poll(() => account.getAttribute('data-state')).toBe('signed-in');
        await page.getByTestId('nav-history').click();
        await page.getByTestId(`history-item-${orderId}`).waitFor();

        // Signed in on a second device too; signing out everywhere ends both.
        const other = await browser.newContext();
        const otherPage = await other.newPage();
        guardPage(otherPage, origins.ws, problems);
        await otherPage.goto(`${origins.ws}/#/sign-in`);
        await otherPage.getByTestId('account-email').fill(email);
        await otherPage.getByTestId('account-password').fill(password);
        await otherPage.getByTestId('account-submit').click();
        await poll(() => otherPage.getByTestId('account').getAttribute('data-state')).toBe(
          'signed-in',
        );
        await page.setViewportSize({ width: 390, height: 844 });
        await screenshot(page, 'signed-in-phone');
        await page.getByTestId('sign-out-everywhere').click();
        await poll(() => account.getAttribute('data-state')).toBe('guest');
        await otherPage.reload();
        await poll(() => otherPage.getByTestId('account').getAttribute('data-state')).toBe('guest');
        await other.close();
        await context.close();
      },
    );

    it('looks right on a phone', async () => {
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
      });
      const page = await context.newPage();
      guardPage(page, origins.sse, problems);
      await page.goto(`${origins.sse}/`);
      await page.getByTestId('restaurant-48hbfe4').click();
      await screenshot(page, 'menu-phone');
      await context.close();
    });
  },
);
