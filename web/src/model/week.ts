// A person's weekly pattern as the grid edits it: seven days of 5-minute
// slots (the API's finest resolution), shown as 15-minute cells. Pure: no
// DOM, no fetch — unit-tested in week.test.ts.

export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Day = (typeof DAYS)[number];
export const SLOT_MINUTES = 5;
export const SLOTS_PER_DAY = (24 * 60) / SLOT_MINUTES; // 288
export const CELL_MINUTES = 15;
export const SLOTS_PER_CELL = CELL_MINUTES / SLOT_MINUTES; // 3
export const CELLS_PER_DAY = SLOTS_PER_DAY / SLOTS_PER_CELL; // 96

/** Seven days (Monday first) of 288 slots, 1 = free. */
export type Week = Uint8Array[];

/** The API's weekly shape: day → hours (`9` = 09:00–10:00) or `"HH:MM-HH:MM"`. */
export type Availabilities = Partial<Record<Day, (number | string)[]>>;

export function emptyWeek(): Week {
  return DAYS.map(() => new Uint8Array(SLOTS_PER_DAY));
}

function minutesOf(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm.trim());
  if (!m) throw new Error(`not a time HH:MM: ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Reads the API's pattern (either format, as stored) into slots. */
export function parseAvailabilities(av: Availabilities | null | undefined): Week {
  const week = emptyWeek();
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
        week[d][s] = 1;
      }
    }
  });
  return week;
}

function hhmm(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** The interval format for every day (all seven, Monday first): maximal runs. */
export function toAvailabilities(week: Week): Record<Day, string[]> {
  const out = {} as Record<Day, string[]>;
  DAYS.forEach((day, d) => {
    const runs: string[] = [];
    let s = 0;
    while (s < SLOTS_PER_DAY) {
      if (!week[d][s]) {
        s++;
        continue;
      }
      const start = s;
      while (s < SLOTS_PER_DAY && week[d][s]) s++;
      runs.push(`${hhmm(start * SLOT_MINUTES)}-${hhmm(s * SLOT_MINUTES)}`);
    }
    out[day] = runs;
  });
  return out;
}

export type CellState = 'free' | 'partial' | 'busy';

/** A 15-minute cell is free when all its slots are, partial when some are. */
export function cellState(week: Week, day: number, cell: number): CellState {
  let n = 0;
  for (let i = 0; i < SLOTS_PER_CELL; i++) n += week[day][cell * SLOTS_PER_CELL + i];
  return n === SLOTS_PER_CELL ? 'free' : n === 0 ? 'busy' : 'partial';
}

export interface CellRef {
  day: number;
  cell: number;
}

/**
 * A copy of `week` with the rectangle between two cells (any corners)
 * painted free (`on`) or erased. Slots outside it are untouched, so 5-minute
 * detail elsewhere survives painting.
 */
export function paintRect(week: Week, a: CellRef, b: CellRef, on: boolean): Week {
  const next = week.map((d) => d.slice());
  const [d0, d1] = [Math.min(a.day, b.day), Math.max(a.day, b.day)];
  const [c0, c1] = [Math.min(a.cell, b.cell), Math.max(a.cell, b.cell)];
  for (let d = d0; d <= d1; d++) {
    next[d].fill(on ? 1 : 0, c0 * SLOTS_PER_CELL, (c1 + 1) * SLOTS_PER_CELL);
  }
  return next;
}

/** "09:15" for a cell index. */
export function cellLabel(cell: number): string {
  return hhmm(cell * CELL_MINUTES);
}

/** Free time in the week, in minutes (for a summary line). */
export function freeMinutes(week: Week): number {
  return week.reduce((sum, d) => sum + d.reduce((a, b) => a + b, 0), 0) * SLOT_MINUTES;
}
