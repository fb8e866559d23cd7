// The whole flow in a real Chromium against the real stack: Ann (Berlin)
// paints by dragging with the mouse, erases by touch and paints time she can
// make only if need be, Bob (New York)
// paints with the keyboard alone and shares his calendar with Ann; Ann sees
// the overlap on the heatmap, books the suggestion, and reads why nothing
// else fits and what would; Bob answers the invite,
// downloads the .ics and gets his feed; Ann's calendar shows his answer;
// Cat RSVPs to the public meeting. axe-core checks every page; every step
// leaves a screenshot.

import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessible, BASE, cellCenter, launch, person, screenshot, signUp, TAG, type Person } from './browser';

let browser: Browser;
let ann: Person;
let bob: Person;
let cat: Person;
const MONDAY = comingMonday(); // Berlin and New York 6 hours apart on it

/** A Monday 1–5 weeks ahead (within every page's window) on which Berlin is 6 hours ahead of New York. */
function comingMonday(): string {
  const hour = (d: Date, tz: string) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(d));
  const d = new Date();
  d.setUTCHours(14, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + 7 + ((8 - d.getUTCDay()) % 7));
  while (hour(d, 'Europe/Berlin') - hour(d, 'America/New_York') !== 6) d.setUTCDate(d.getUTCDate() + 7);
  return d.toISOString().slice(0, 10);
}

beforeAll(async () => {
  browser = await launch();
  ann = await person(browser, 'ann', 'Europe/Berlin');
  bob = await person(browser, 'bob', 'America/New_York');
  cat = await person(browser, 'cat', 'UTC');
});

// A failed step leaves what each person saw.
afterEach(async (ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  for (const p of [ann, bob, cat]) if (p) await screenshot(p.page, `FAILED-${p.email.split('.')[0]}`).catch(() => undefined);
});

afterAll(async () => {
  for (const p of [ann, bob, cat]) expect(p?.failures ?? [], `${p?.email}: page errors or off-site requests`).toEqual([]);
  await browser?.close();
});

describe('W2Meet in the browser', () => {
  it('loads in under 200 KB compressed, from this host only', async () => {
    const page = ann.page;
    await page.goto(`${BASE}/`);
    await page.waitForLoadState('networkidle');
    const bytes = await page.evaluate(() =>
      (performance.getEntries() as PerformanceResourceTiming[])
        .filter((e) => 'transferSize' in e)
        .reduce((sum, e) => sum + e.transferSize, 0),
    );
    console.log(`first load: ${bytes} bytes transferred`);
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThan(200 * 1024);
    await accessible(page, 'the log-in page');
    await screenshot(page, 'login');
  });

  it('signs three people up', async () => {
    await signUp(ann);
    await accessible(ann.page, 'the account page');
    await screenshot(ann.page, 'signed-up');
    await signUp(bob);
    await signUp(cat);
  });

  it('Ann paints her Monday by dragging, erases part of it by touch, and saves it in her zone', async () => {
    const page = ann.page;
    await page.goto(`${BASE}/#/week`);
    await expect.poll(() => page.getByLabel('Your time zone').inputValue()).toBe('Europe/Berlin');
    // Drag with the mouse: Monday 14:00 to 16:45 (cells 56–67).
    const to = await cellCenter(page, 'week-grid', 0, 67);
    const from = await cellCenter(page, 'week-grid', 0, 56);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => page.locator('[data-testid="week-grid"] [aria-selected="true"]').count()).toBe(12);
    // A touch drag that starts on a free cell erases: 16:00 to 16:45.
    const cdp = await ann.context.newCDPSession(page);
    const t1 = await cellCenter(page, 'week-grid', 0, 67);
    const t0 = await cellCenter(page, 'week-grid', 0, 64);
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: t0.x, y: t0.y }] });
    for (let i = 1; i <= 4; i++)
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: t0.x, y: t0.y + ((t1.y - t0.y) * i) / 4 }] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await expect.poll(() => page.locator('[data-testid="week-grid"] [aria-selected="true"]').count()).toBe(8);
    await page.getByTestId('save-week').click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).textContent()).toContain('2 hours a week free, in Europe/Berlin');
    // A dated change: the Monday after is a holiday.
    const holiday = new Date(Date.parse(`${MONDAY}T00:00:00Z`) + 7 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Date', { exact: true }).fill(holiday);
    await page.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => page.getByTestId('overrides').textContent()).toContain(`${holiday}, all day: busy`);
    // A dated change makes a new version of the profile; saving the week
    // after it still works (Tuesday 10:00–10:15, outside the window below).
    const tuesday = await cellCenter(page, 'week-grid', 1, 40);
    await page.mouse.click(tuesday.x, tuesday.y);
    await page.getByTestId('save-week').click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).textContent()).toContain('2.3 hours a week free');
    // Time she can make only if need be: Tuesday 11:00–11:30, one cell by
    // mouse and one more by keyboard (Shift+ArrowDown extends with the brush).
    const weekCell = (day: number, cell: number) => page.locator(`[data-testid="week-grid"] [data-day="${day}"][data-cell="${cell}"]`);
    await page.getByLabel('If need be', { exact: true }).check();
    const maybe = await cellCenter(page, 'week-grid', 1, 44);
    await page.mouse.click(maybe.x, maybe.y);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('tuesday 11:00–11:15, free if need be');
    await page.keyboard.press('Shift+ArrowDown');
    await expect.poll(() => weekCell(1, 45).getAttribute('aria-label')).toBe('tuesday 11:15–11:30, free if need be');
    expect(await weekCell(1, 45).getAttribute('aria-selected')).toBe('true');
    expect(await weekCell(1, 45).getAttribute('class')).toContain('ifneedbe');
    // The free quarter hour painted before stays free.
    expect(await weekCell(1, 40).getAttribute('aria-label')).toBe('tuesday 10:00–10:15, free');
    await page.getByTestId('save-week').click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).textContent())
      .toContain('2.3 hours a week free and 0.5 hours if need be, in Europe/Berlin');
    // The API keeps both levels.
    const stored = await page.evaluate(async (email) => {
      const { access_token } = JSON.parse(localStorage.getItem('w2meet.session')!);
      const r = await fetch(`/users/users/${encodeURIComponent(email)}`, { headers: { Authorization: `Bearer ${access_token}` } });
      return r.json();
    }, ann.email);
    expect(stored.if_need_be?.tuesday).toEqual(['11:00-11:30']);
    expect(stored.availabilities.tuesday).toEqual(['10:00-10:15']);
    // Reloaded, the grid shows both.
    await page.reload();
    await expect.poll(() => weekCell(1, 44).getAttribute('aria-label')).toBe('tuesday 11:00–11:15, free if need be');
    expect(await weekCell(1, 40).getAttribute('aria-label')).toBe('tuesday 10:00–10:15, free');
    // A dated change of the new kind (outside the window Ann looks at below).
    const later = new Date(Date.parse(`${holiday}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Date', { exact: true }).fill(later);
    await page.getByLabel('From', { exact: true }).fill('18:00');
    await page.getByLabel('To', { exact: true }).fill('19:00');
    await page.getByLabel('I am').selectOption('if_need_be');
    await page.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => page.getByTestId('overrides').textContent()).toContain(`${later} 18:00 → 19:00: free if need be`);
    await accessible(page, 'the week page');
    await screenshot(page, 'ann-week');
  });

  it('Bob paints his Monday with the keyboard alone', async () => {
    const page = bob.page;
    await page.goto(`${BASE}/#/week`);
    await page.getByTestId('week-grid').waitFor();
    // Tab into the grid: it has one tab stop, Monday 09:00.
    for (let i = 0; i < 40; i++) {
      if (await page.evaluate(() => document.activeElement?.getAttribute('role') === 'gridcell')) break;
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^monday 09:00–09:15/);
    await page.keyboard.press('Space');
    for (let i = 0; i < 13; i++) await page.keyboard.press('Shift+ArrowDown');
    // Extending back shrinks the rectangle: 09:00–12:00.
    for (let i = 0; i < 2; i++) await page.keyboard.press('Shift+ArrowUp');
    // Space on a free cell toggles it off, and back on.
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('[data-testid="week-grid"] [aria-selected="true"]').count()).toBe(12);
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Save');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).textContent()).toContain('3 hours a week free, in America/New_York');
    await screenshot(page, 'bob-week-keyboard');
  });

  it('Bob shares his calendar with Ann', async () => {
    const page = bob.page;
    await page.goto(`${BASE}/#/meetings`);
    await page.locator('#share-with').fill(ann.email);
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await expect.poll(() => page.getByTestId('viewers').textContent()).toContain(ann.email);
  });

  it('Ann sees the overlap on the heatmap, readable errors for bad input, runs it as a job, and books the suggestion', async () => {
    const page = ann.page;
    await page.goto(`${BASE}/#/group`);
    await page.getByLabel('Who (emails').fill(`${ann.email}, ${bob.email}`);
    await page.getByLabel('From').first().fill(MONDAY);
    await page.getByLabel('Days').fill('1');
    // A zone the browser does not know is said at the field and not sent.
    await page.getByLabel('Show times in').fill('Nowhere/City');
    await expect.poll(() => page.getByText('Unknown time zone').count()).toBe(1);
    await page.getByLabel('Show times in').fill('Europe/Berlin');
    // An address the API refuses: its 400 in words, with the Case-ID.
    await page.getByLabel('Who (emails').fill(`${ann.email}, ${bob.email}, not-an-address`);
    await page.getByTestId('find').click();
    const alert = page.getByRole('alert').first();
    await expect.poll(() => alert.textContent()).toMatch(/Please check what you entered: .*not-an-address/);
    expect(await alert.getByTestId('case-id').first().textContent()).toMatch(/^web-[0-9a-f-]{36}$/);
    await screenshot(page, 'bad-input');

    await page.getByLabel('Who (emails').fill(`${ann.email}, ${bob.email}`);
    await page.getByTestId('find').click();
    const cell = (time: string) => page.locator(`[data-testid="heatmap"] [role="gridcell"][aria-label^="Mon ${MONDAY} ${time}"]`);
    await cell('15:00').waitFor();
    // Ann 14:00–16:00 Berlin, Bob 09:00–12:00 New York = 15:00–18:00 Berlin.
    expect(await cell('14:00').getAttribute('data-count')).toBe('1');
    expect(await cell('15:00').getAttribute('data-count')).toBe('2');
    expect(await cell('15:45').getAttribute('data-count')).toBe('2');
    expect(await cell('16:00').getAttribute('data-count')).toBe('1');
    expect(await cell('18:00').getAttribute('data-count')).toBe('0');
    await cell('15:00').hover();
    await expect.poll(() => page.getByTestId('heat-who').textContent()).toBe(
      `Mon ${MONDAY} 15:00–15:15: 2 of 2 free: ${[ann.email, bob.email].sort().join(', ')}`,
    );
    // Focus shows the names too.
    await cell('16:00').focus();
    await expect.poll(() => page.getByTestId('heat-who').textContent()).toContain(`1 of 2 free: ${bob.email}`);
    // The same group as a background job: its progress, then its answer.
    await page.getByLabel('Run as a background job').check();
    await page.getByTestId('find').click();
    await expect.poll(() => page.getByTestId('job').textContent()).toMatch(/Job [0-9a-f]{8}: (enqueued|queued|running|succeeded)/);
    await expect.poll(() => page.getByTestId('job').textContent(), { timeout: 20_000 }).toContain('succeeded');
    const first = page.getByTestId('suggestions').getByRole('listitem').first();
    await expect.poll(() => first.textContent()).toMatch(/15:00–16:00/);
    await screenshot(page, 'job-finished');
    await page.getByLabel('Run as a background job').uncheck();
    await page.getByTestId('find').click();
    await expect.poll(() => page.getByTestId('job').count()).toBe(0);
    await expect.poll(() => first.textContent()).toMatch(/15:00–16:00/);
    await accessible(page, 'the group page with heatmap and suggestions');
    await screenshot(page, 'heatmap');

    await first.getByRole('button', { name: 'Book this time' }).click();
    await first.getByLabel('Title').fill(`Planning ${TAG}`);
    await first.getByLabel('Public').check();
    await first.getByRole('button', { name: 'Book and invite' }).click();
    await expect.poll(() => page.getByTestId('booked').textContent()).toContain('invites sent');
    await screenshot(page, 'booked');

    // The booked hour is Ann's busy time now: nothing else fits that day,
    // and the page says why and what would.
    await expect
      .poll(
        async () => {
          await page.getByTestId('find').click();
          await page.getByTestId('find').isEnabled();
          return page.getByTestId('no-suggestions').count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    const nothing = page.getByTestId('no-suggestions');
    expect(await nothing.textContent()).toMatch(/No time fits\./);
    // Ann is free 14:00–15:00 now, Bob from 15:00: if Bob could make
    // 14:00–15:00 it would fit; each keeps the other's best times off.
    const quoted = (s: string) => s.replace(/[.+]/g, '\\$&');
    // (Further lines may follow: a longer window, say.)
    expect(await nothing.getByTestId('smallest-change').textContent()).toMatch(
      new RegExp(`^If ${quoted(bob.email)} could make [^.]*14:00–15:00, that time would fit\\.`),
    );
    const blockers = await nothing.getByTestId('blockers').textContent();
    expect(blockers).toContain(`${ann.email} keeps the best times off the list`);
    expect(blockers).toContain(`${bob.email} keeps the best times off the list (not free for 1 of them)`);
    await accessible(page, 'the group page explaining why nothing fits');
    await screenshot(page, 'nothing-fits');

    // The Tuesday after: Ann only if need be, 11:00–11:30.
    const tuesday = new Date(Date.parse(`${MONDAY}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('From').first().fill(tuesday);
    await page.getByTestId('find').click();
    const maybe = page.locator(`[data-testid="heatmap"] [role="gridcell"][aria-label^="Tue ${tuesday} 11:00"]`);
    await expect.poll(() => maybe.getAttribute('data-if-need-be')).toBe('1');
    expect(await maybe.getAttribute('data-count')).toBe('1');
    await maybe.hover();
    await expect.poll(() => page.getByTestId('heat-who').textContent()).toBe(`Tue ${tuesday} 11:00–11:15: 1 of 2 free: ${ann.email} (if need be)`);
    await screenshot(page, 'heatmap-if-need-be');
  });

  it('Bob answers the invite, downloads the .ics and gets a working feed URL', async () => {
    const page = bob.page;
    await page.goto(`${BASE}/#/meetings`);
    // Bob's page is still the one he shared from: Refresh shows the invite.
    await page.getByRole('button', { name: 'Refresh' }).click();
    // His access token expires: the page's parallel calls (calendar, shares)
    // refresh it once, and he stays logged in.
    const before = await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('w2meet.session')!);
      localStorage.setItem('w2meet.session', JSON.stringify({ ...s, expires_at: 0 }));
      return s.refresh_token as string;
    });
    await page.reload();
    await expect.poll(() => page.getByTestId('viewers').textContent()).toContain(ann.email);
    const after = await page.evaluate(() => JSON.parse(localStorage.getItem('w2meet.session') ?? 'null'));
    expect(after?.refresh_token).toBeTruthy();
    expect(after.refresh_token).not.toBe(before);
    expect(after.expires_at).toBeGreaterThan(Date.now());
    const invite = page.getByTestId('invites').getByRole('listitem').first();
    await expect.poll(() => invite.textContent()).toContain('Planning');
    expect(await invite.textContent()).toContain(`15:00–16:00 (Europe/Berlin), from ${ann.email}`);
    await invite.getByRole('button', { name: 'Yes' }).click();
    await expect.poll(() => invite.getByRole('button', { name: 'Yes' }).getAttribute('aria-pressed')).toBe('true');
    await accessible(page, 'the meetings page');
    await screenshot(page, 'bob-answered');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download .ics' }).first().click()]);
    const ics = await readFile((await download.path())!, 'utf8');
    expect(ics).toContain('BEGIN:VCALENDAR');
    expect(ics).toContain('SUMMARY:Planning');
    expect(ics.replace(/\r\n /g, '')).toMatch(new RegExp(`ATTENDEE;[^\\r\\n]*PARTSTAT=ACCEPTED[^\\r\\n]*${bob.email.replace(/\./g, '\\.')}`, 'i'));

    await page.getByRole('button', { name: 'Get my feed URL' }).click();
    const url = await page.getByTestId('feed-url').inputValue();
    expect(url).toMatch(/\/meetings\/calendars\/.+\/feed\.ics\?token=/);
    const feed = await fetch(url);
    expect(feed.status).toBe(200);
    expect(await feed.text()).toContain('SUMMARY:Planning');
  });

  it("Ann's calendar shows Bob's answer", async () => {
    const page = ann.page;
    await page.goto(`${BASE}/#/meetings`);
    await expect.poll(() => page.getByTestId('calendar').textContent()).toContain(`${bob.email}: YES`);
    expect(await page.getByTestId('calendar').textContent()).toMatch(/15:00–16:00 \(Europe\/Berlin\)/);
    await screenshot(page, 'ann-calendar');
  });

  it('Cat RSVPs to the public meeting', async () => {
    const page = cat.page;
    await page.goto(`${BASE}/#/public`);
    const item = page.getByTestId('public').getByRole('listitem').filter({ hasText: `Planning ${TAG}` });
    await expect.poll(() => item.count()).toBe(1);
    await item.getByRole('button', { name: 'Maybe' }).click();
    await expect.poll(() => item.textContent()).toContain('RSVPs: 0 yes, 1 maybe, 0 no');
    await accessible(page, 'the public meetings page');
    await screenshot(page, 'cat-rsvp');
  });

  it('logs out', async () => {
    const page = cat.page;
    await page.goto(`${BASE}/#/`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.locator('.who-am-i').textContent()).toBe('Not logged in');
  });
});
