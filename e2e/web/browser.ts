import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { defaultWebRoot } from '@cads/cli/system';
import { chromiumPath } from '@cads/testing';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where browser suites leave their screenshots (a CI artifact; git-ignored). */
export const screenshotDir = new URL('../../test-results/screenshots/', import.meta.url);

/** Debian's Chromium, headless, with nothing reaching out to the (closed) network. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(`${defaultWebRoot}/index.html`)) {
    throw new Error(`the web app is not built (${defaultWebRoot}): run npm run build:web`);
  }
  await mkdir(screenshotDir, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, screenshotDir).pathname, fullPage: true });
}

/**
 * Records into `problems` (which the suite asserts empty) any request leaving the BFF's origin,
 * any uncaught page error and anything the page's Content-Security-Policy refused.
 */
export function guardPage(page: Page, origin: string, problems: string[]): void {
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) {
      problems.push(`request outside the app: ${url}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) {
      problems.push(`refused by the CSP: ${message.text()}`);
    }
  });
}
