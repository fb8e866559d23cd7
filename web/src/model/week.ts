// A person's weekly pattern as the grid edits it: seven days of 5-minute
// slots (the API's finest resolution), shown as 15-minute cells, each slot
// busy, free only if need be, or free (SPEC §10). Pure: no DOM, no fetch —
// unit-tested in week.test.ts.

export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Day = (typeof DAYS)[number];
export const SLOT_MINUTES = 5;
export const SLOTS_PER_DAY = (24 * 60) / SLOT_MINUTES; // 288
export const CELL_MINUTES = 15;
export const SLOTS_PER_CELL = CELL_MINUTES / SLOT_MINUTES; // 3
export const CELLS_PER_DAY = SLOTS_PER_DAY / SLOTS_PER_CELL; // 96

/** A slot's level; ordered, so that where both are given the higher (free) wins. */
export const BUSY = 0;
export const IF_NEED_BE = 1;
export const FREE = 2;
export type Level = typeof BUSY | typeof IF_NEED_BE | typeof FREE;
/** What a person paints with: plain free time or if-need-be time. */
export type Brush = typeof IF_NEED_BE | typeof FREE;

/** Seven days (Monday first) of 288 slots, each a Level. */
export type Week = Uint8Array[];

/** The API's weekly shape: day → hours (`9` = 09:00–10:00) or `"HH:MM-HH:MM"`. */
export type Availabilities = Partial<Record<Day, (number | string)[]>>;

/** Both levels as a user body carries them; `if_need_be` only when there is some. */
export interface Patterns {
  availabilities: Record<Day, string[]>;
  if_need_be?: Record<Day, string[]>;
}

export function emptyWeek(): Week {
  return DAYS.map(() => new Uint8Array(SLOTS_PER_DAY));
}

function minutesOf(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm.trim());
  if (!m) throw new Error(`not a time HH:MM: ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Raises every slot of `av` (either format, as stored) to `level`. */
function mark(week: Week, av: Availabilities | null | undefined, level: Level): void {
  DAYS.forEach((day, d) => {
    for (const item of av?.[day] ?? []) {
      let from: number;
      let to: number;
      if (typeof item === 'number') {
        from = item * 60;
        to = from + 60;
      } else {
        const [a, b] = item.split('-');
        from = minutesOf(a);
        to = minutesOf(b);
      }
      for (let s = Math.floor(from / SLOT_MINUTES); s < Math.ceil(to / SLOT_MINUTES) && s < SLOTS_PER_DAY; s++) {
        week[d][s] = Math.max(week[d][s], level);
      }
    }
  });
}

/**
 * Reads the API's patterns (either format, as stored) into slots: free time
 * and, optionally, if-need-be time. A slot in both is free.
 */
export function parseAvailabilities(av: Availabilities | null | undefined, ifNeedBe?: Availabilities | null): Week {
  const week = emptyWeek();
  mark(week, ifNeedBe, IF_NEED_BE);
  mark(week, av, FREE);
  return week;
}

function hhmm(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** The interval format for every day (all seven, Monday first): maximal runs of slots at `level`. */
function runs(week: Week, level: Level): Record<Day, string[]> {
  const out = {} as Record<Day, string[]>;
  DAYS.forEach((day, d) => {
    const list: string[] = [];
    let s = 0;
    while (s < SLOTS_PER_DAY) {
      if (week[d][s] !== level) {
        s++;
        continue;
      }
      const start = s;
      while (s < SLOTS_PER_DAY && week[d][s] === level) s++;
      list.push(`${hhmm(start * SLOT_MINUTES)}-${hhmm(s * SLOT_MINUTES)}`);
    }
    out[day] = list;
  });
  return out;
}

/** The free time in the interval format for every day (all seven, Monday first): maximal runs. */
export function toAvailabilities(week: Week): Record<Day, string[]> {
  return runs(week, FREE);
}

/** The if-need-be time, likewise. */
export function toIfNeedBe(week: Week): Record<Day, string[]> {
  return runs(week, IF_NEED_BE);
}

/** Both levels for a user body: `if_need_be` is left out when there is none. */
export function toPatterns(week: Week): Patterns {
  const out: Patterns = { availabilities: toAvailabilities(week) };
  if (levelMinutes(week, IF_NEED_BE) > 0) out.if_need_be = toIfNeedBe(week);
  return out;
}

export type CellState = 'free' | 'ifneedbe' | 'partial' | 'busy';

/** A 15-minute cell is free (or if need be, or busy) when all its slots are; partial when they differ. */
export function cellState(week: Week, day: number, cell: number): CellState {
  const slots = week[day].subarray(cell * SLOTS_PER_CELL, (cell + 1) * SLOTS_PER_CELL);
  if (slots.some((v) => v !== slots[0])) return 'partial';
  return slots[0] === FREE ? 'free' : slots[0] === IF_NEED_BE ? 'ifneedbe' : 'busy';
}

/** The state of a cell in words, for its accessible name. */
export function cellWords(week: Week, day: number, cell: number): string {
  const state = cellState(week, day, cell);
  if (state === 'free') return 'free';
  if (state === 'busy') return 'busy';
  if (state === 'ifneedbe') return 'free if need be';
  const slots = [...week[day].subarray(cell * SLOTS_PER_CELL, (cell + 1) * SLOTS_PER_CELL)];
  const free = slots.includes(FREE);
  const maybe = slots.includes(IF_NEED_BE);
  return free && maybe ? 'partly free, partly free if need be' : free ? 'partly free' : 'partly free if need be';
}

/** The state a brush paints a cell to. */
export function brushState(brush: Brush): CellState {
  return brush === FREE ? 'free' : 'ifneedbe';
}

/** What a stroke (or Space) starting on a cell does: erase a cell the brush already painted, else paint with the brush. */
export function strokeLevel(week: Week, at: CellRef, brush: Brush): Level {
  return cellState(week, at.day, at.cell) === brushState(brush) ? BUSY : brush;
}

export interface CellRef {
  day: number;
  cell: number;
}

/**
 * A copy of `week` with the rectangle between two cells (any corners) set
 * to `level` (`true` is free, `false` busy). Slots outside it are
 * untouched, so 5-minute detail elsewhere survives painting.
 */
export function paintRect(week: Week, a: CellRef, b: CellRef, level: Level | boolean): Week {
  const value = level === true ? FREE : level === false ? BUSY : level;
  const next = week.map((d) => d.slice());
  const [d0, d1] = [Math.min(a.day, b.day), Math.max(a.day, b.day)];
  const [c0, c1] = [Math.min(a.cell, b.cell), Math.max(a.cell, b.cell)];
  for (let d = d0; d <= d1; d++) {
    next[d].fill(value, c0 * SLOTS_PER_CELL, (c1 + 1) * SLOTS_PER_CELL);
  }
  return next;
}

/** "09:15" for a cell index. */
export function cellLabel(cell: number): string {
  return hhmm(cell * CELL_MINUTES);
}

/** Time at one level in the week, in minutes. */
export function levelMinutes(week: Week, level: Level): number {
  return week.reduce((sum, d) => sum + d.reduce((n, v) => n + (v === level ? 1 : 0), 0), 0) * SLOT_MINUTES;
}

/** Plain free time in the week, in minutes (for a summary line). */
export function freeMinutes(week: Week): number {
  return levelMinutes(week, FREE);
}

/** If-need-be time in the week, in minutes. */
export function ifNeedBeMinutes(week: Week): number {
  return levelMinutes(week, IF_NEED_BE);
}
