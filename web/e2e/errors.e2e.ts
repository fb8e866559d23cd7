// The error path in a real browser: with a dependency stopped (the test
// harness, tests/80_web.sh, stops every availability-service replica before
// this file runs), the page says so in words, with the Case-ID to quote —
// the same id the gateway logged for the call.

import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { accessible, BASE, launch, person, screenshot, type Person } from './browser';

let browser: Browser;
let eve: Person;

beforeAll(async () => {
  browser = await launch({ keep: true });
  eve = await person(browser, 'eve', 'UTC');
});

afterAll(async () => {
  await browser?.close();
});

it('shows a stopped dependency as a readable message with its Case-ID', async () => {
  const page = eve.page;
  await page.goto(`${BASE}/#/group`);
  await page.getByLabel('Who (emails').fill('one@example.com, two@example.com');
  await page.getByTestId('find').click();
  const alerts = page.getByRole('alert');
  await expect.poll(() => alerts.count(), { timeout: 20_000 }).toBe(2);
  for (const text of await alerts.allTextContents()) {
    expect(text).toMatch(/A W2Meet service is unavailable right now .*Try again in a moment\./);
    expect(text).toMatch(/Case-ID to quote: web-[0-9a-f-]{36}/);
  }
  const ids = await page.getByTestId('case-id').allTextContents();
  const log = process.env.W2MEET_ACCESS_LOG;
  if (log) {
    // nginx writes its line once the answer has gone out: wait for it.
    for (const id of ids) await expect.poll(() => readFileSync(log, 'utf8').includes(id), { message: `the gateway logged ${id}`, timeout: 10_000 }).toBe(true);
  }
  await accessible(page, 'the group page showing errors');
  await screenshot(page, 'dependency-stopped');
});
