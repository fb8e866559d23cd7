// What every browser test needs: Chromium, one context per person (own
// zone, own storage), screenshots into the folder W2MEET_SCREENSHOTS names,
// and axe-core's check of a page.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const BASE = (process.env.W2MEET_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
export const SHOTS = resolve(process.env.W2MEET_SCREENSHOTS ?? 'e2e-screenshots');
export const TAG = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Chromium; the screenshot folder starts empty unless `keep` (a later file of the same run). */
export async function launch({ keep = false } = {}): Promise<Browser> {
  if (!keep) rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  shot = readdirSync(SHOTS).length;
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Person {
  email: string;
  context: BrowserContext;
  page: Page;
  /** Case-IDs of the calls that failed, as the page saw them. */
  failures: string[];
}

export async function person(browser: Browser, name: string, timezoneId: string): Promise<Person> {
  const context = await browser.newContext({ timezoneId, locale: 'en-GB', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  // Nothing may be fetched from another host.
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) failures.push(`off-site request ${r.url()}`);
  });
  return { email: `${name}.${TAG}@example.com`, context, page, failures };
}

let shot = 0;
/** A numbered screenshot of the whole page. */
export async function screenshot(page: Page, name: string): Promise<string> {
  shot += 1;
  const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function accessible(page: Page, what: string): Promise<void> {
  // Evaluated through the driver: the page's CSP rightly refuses inline scripts.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    // @ts-expect-error axe is the script just added
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: { id: string; help: string; nodes: { target: string[] }[] }) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  });
  expect(violations, `accessibility of ${what}`).toEqual([]);
}

/** The center of a grid cell, scrolled into view. */
export async function cellCenter(page: Page, grid: string, day: number, cell: number): Promise<{ x: number; y: number }> {
  const target = page.locator(`[data-testid="${grid}"] [data-day="${day}"][data-cell="${cell}"]`);
  await target.scrollIntoViewIfNeeded();
  const box = await target.boundingBox();
  if (!box) throw new Error(`no cell ${day}/${cell} in ${grid}`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

export async function signUp(p: Person, password = 'correct horse battery staple'): Promise<void> {
  const { page } = p;
  await page.goto(`${BASE}/#/`);
  await page.getByRole('button', { name: 'No account yet? Sign up' }).click();
  await page.getByLabel('Email').fill(p.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await expect.poll(() => page.getByTestId('me').textContent()).toBe(p.email);
}
