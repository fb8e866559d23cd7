// Keyboard movement shared by the paint grid and the heatmap: one focusable
// cell (roving tabindex), arrows move, Page Up/Down move an hour, Home/End
// go to the day's first or last cell.

import { useState } from 'preact/hooks';
import type { CellRef } from '../model/week';

export interface GridFocus {
  focus: CellRef;
  setFocus: (c: CellRef) => void;
  /** The cell a key moves to, or null when the key is not a move. */
  moved: (key: string, from: CellRef) => CellRef | null;
}

export function useGridFocus(days: number, cells: number, start: CellRef = { day: 0, cell: 36 }): GridFocus {
  const [focus, setFocus] = useState<CellRef>(start);
  const clamp = (c: CellRef): CellRef => ({
    day: Math.max(0, Math.min(days - 1, c.day)),
    cell: Math.max(0, Math.min(cells - 1, c.cell)),
  });
  const moved = (key: string, from: CellRef): CellRef | null => {
    const step: Record<string, CellRef> = {
      ArrowUp: { day: 0, cell: -1 },
      ArrowDown: { day: 0, cell: 1 },
      ArrowLeft: { day: -1, cell: 0 },
      ArrowRight: { day: 1, cell: 0 },
      PageUp: { day: 0, cell: -4 },
      PageDown: { day: 0, cell: 4 },
    };
    if (key === 'Home') return { day: from.day, cell: 0 };
    if (key === 'End') return { day: from.day, cell: cells - 1 };
    const s = step[key];
    return s ? clamp({ day: from.day + s.day, cell: from.cell + s.cell }) : null;
  };
  return { focus, setFocus, moved };
}

/** Focuses the element of a cell inside `root` (after the render). */
export function focusCell(root: HTMLElement | null, c: CellRef): void {
  requestAnimationFrame(() => {
    root?.querySelector<HTMLElement>(`[data-day="${c.day}"][data-cell="${c.cell}"]`)?.focus();
  });
}

/** The cell under a pointer (touch and pen keep their first target, so look it up). */
export function cellAt(x: number, y: number): CellRef | null {
  const el = document.elementFromPoint(x, y) as HTMLElement | null;
  const cell = el?.closest<HTMLElement>('[data-cell]');
  if (!cell) return null;
  return { day: Number(cell.dataset.day), cell: Number(cell.dataset.cell) };
}
