// The group heatmap: the availability answer's intervals (maximal stretches
// with one set of free people — and of those free only if need be — UTC)
// laid out as 15-minute cells on the viewing zone's wall clock. Pure —
// unit-tested in heat.test.ts.

import { localParts } from './time';

export interface Interval {
  start: string;
  end: string;
  available: string[];
  count: number;
  hidden?: number;
  /** Those of `available` free only if need be there (SPEC §10); absent when none. */
  if_need_be?: string[];
  /** Hidden people free only if need be; absent when none. */
  hidden_if_need_be?: number;
}

export interface HeatCell {
  /** UTC start of the cell. */
  start: string;
  /** People free for the whole cell (named + hidden; hidden ones at most as many as the fewest in any step). */
  count: number;
  /** Those of them the caller may see, by address. */
  names: string[];
  /** Those counted but not named (privacy, SPEC §6). */
  hidden: number;
  /** Those of `names` free only if need be for some of the cell. */
  ifNeedBe: string[];
  /** Those of `hidden` free only if need be (at most; they cannot be told apart). */
  hiddenIfNeedBe: number;
}

export interface HeatDay {
  /** Local date YYYY-MM-DD. */
  date: string;
  weekday: number;
  /** 96 cells by local quarter hour; null where the clock skips (DST). */
  cells: (HeatCell | null)[];
}

const STEP_MS = 5 * 60 * 1000;
const CELL_MS = 15 * 60 * 1000;

/**
 * Cells from `start` to `end` (the answer's window, RFC 3339) in `tz`. A
 * person counts in a cell only when free for all of it (checked at 5-minute
 * resolution, the API's own). When a fall-back change repeats a local
 * quarter hour, the first occurrence is shown.
 */
export function heatmap(windowStart: string, windowEnd: string, intervals: Interval[], tz: string): HeatDay[] {
  const sorted = intervals
    .map((i) => ({ ...i, s: Date.parse(i.start), e: Date.parse(i.end) }))
    .sort((a, b) => a.s - b.s);
  const days = new Map<string, HeatDay>();
  const from = Date.parse(windowStart);
  const to = Date.parse(windowEnd);
  let k = 0;
  const at = (t: number) => {
    while (k < sorted.length && sorted[k].e <= t) k++;
    const i = sorted[k];
    return i && i.s <= t ? i : null;
  };
  for (let t = from; t + CELL_MS <= to; t += CELL_MS) {
    // Free for the whole cell: in every 5-minute step of it.
    const steps: (Interval | null)[] = [];
    for (let u = t; u < t + CELL_MS; u += STEP_MS) steps.push(at(u));
    const cell = wholeCell(new Date(t).toISOString(), steps);
    const local = localParts(new Date(t), tz);
    let day = days.get(local.date);
    if (!day) {
      day = { date: local.date, weekday: local.weekday, cells: new Array(96).fill(null) };
      days.set(local.date, day);
    }
    const row = Math.floor(local.minutes / 15);
    if (!day.cells[row]) day.cells[row] = cell;
  }
  return [...days.values()];
}

/**
 * Who is free in every step of a cell (an empty step: nobody), at either
 * level; of them, who only if need be in some step.
 */
function wholeCell(start: string, steps: (Interval | null)[]): HeatCell {
  if (steps.some((i) => !i)) return { start, count: 0, names: [], hidden: 0, ifNeedBe: [], hiddenIfNeedBe: 0 };
  const all = steps as Interval[];
  const names = all[0].available.filter((n) => all.every((i) => i.available.includes(n))).sort();
  const ifNeedBe = names.filter((n) => all.some((i) => i.if_need_be?.includes(n)));
  // Hidden people cannot be told apart: at most the fewest hidden in a step
  // were free throughout, and of them at most the most if-need-be in a step
  // were so only if need be.
  const hidden = Math.min(...all.map((i) => i.hidden ?? 0));
  const hiddenIfNeedBe = Math.min(hidden, Math.max(...all.map((i) => i.hidden_if_need_be ?? 0)));
  return { start, count: names.length + hidden, names, hidden, ifNeedBe, hiddenIfNeedBe };
}

/**
 * Who is free in a cell, in words: "2 of 3 free: ann@x.io (if need be),
 * bob@x.io and 1 person you may not see".
 */
export function describeCell(c: HeatCell, total: number): string {
  if (c.count === 0) return `nobody of ${total} free`;
  const named = c.names.map((n) => (c.ifNeedBe.includes(n) ? `${n} (if need be)` : n)).join(', ');
  const others = c.count - c.names.length;
  const maybe = Math.min(others, c.hiddenIfNeedBe);
  const rest =
    others > 0
      ? `${named ? ' and ' : ''}${others} ${others === 1 ? 'person' : 'people'} you may not see${maybe > 0 ? ` (${maybe === others ? (others === 1 ? 'if need be' : 'all if need be') : `${maybe} if need be`})` : ''}`
      : '';
  return `${c.count} of ${total} free: ${named}${rest}`;
}

/** Whether anyone counted in the cell is free there only if need be. */
export function anyIfNeedBe(c: HeatCell): boolean {
  return c.ifNeedBe.length > 0 || c.hiddenIfNeedBe > 0;
}

/** 0–4: the colour step for `count` of `total` free. */
export function level(count: number, total: number): number {
  if (count <= 0 || total <= 0) return 0;
  return Math.max(1, Math.min(4, Math.ceil((count / total) * 4)));
}
