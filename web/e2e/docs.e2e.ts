// Every service's /docs is the interactive Swagger UI, through the gateway,
// with nothing from another host: it lists the operations and "Try it out"
// calls the service through its gateway path.

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BASE, launch, person, screenshot, type Person } from './browser';

let browser: Browser;
let reader: Person;

beforeAll(async () => {
  browser = await launch({ keep: true });
  reader = await person(browser, 'reader', 'UTC');
});

afterAll(async () => {
  expect(reader?.failures ?? [], 'page errors or off-site requests').toEqual([]);
  await browser?.close();
});

for (const service of ['users', 'availability', 'suggestion', 'worker', 'meetings']) {
  it(`/${service}/docs is Swagger UI and its Try it out works`, async () => {
    const page = reader.page;
    await page.goto(`${BASE}/${service}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(2);
    const health = page.locator('.opblock-get').filter({ hasText: '/health' }).first();
    await health.locator('.opblock-summary').click();
    await health.getByRole('button', { name: 'Try it out' }).click();
    await health.getByRole('button', { name: 'Execute' }).click();
    const url = health.locator('.request-url pre').first();
    await expect.poll(() => url.textContent()).toBe(`${BASE}/${service}/health`);
    await expect
      .poll(() => health.locator('.live-responses-table tbody .response-col_status').first().textContent())
      .toMatch(/^\s*200/);
    if (service === 'users') await screenshot(page, 'swagger-ui');
  });
}
