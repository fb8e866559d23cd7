// The paint-your-week grid: 7 days × 96 quarter hours in the person's zone.
// Drag (mouse, touch, pen) paints a rectangle with the brush (free or if
// need be), starting on a cell the brush already painted erases; keyboard:
// arrows move, Space toggles, Shift+arrows extend.

import { useRef, useState } from 'preact/hooks';
import { CELLS_PER_DAY, cellLabel, cellState, cellWords, DAYS, IF_NEED_BE, paintRect, strokeLevel, type Brush, type CellRef, type Level, type Week } from '../model/week';
import { cellAt, focusCell, useGridFocus } from './grid';
import { Corner, TimeHeader } from './GridParts';
import { WEEKDAYS } from '../model/time';

interface Stroke {
  anchor: CellRef;
  to: CellRef;
  level: Level;
  base: Week;
}

export function WeekGrid({ week, onChange, tz, brush }: { week: Week; onChange: (w: Week) => void; tz: string; brush: Brush }) {
  const root = useRef<HTMLDivElement>(null);
  const nav = useGridFocus(7, CELLS_PER_DAY);
  const [stroke, setStroke] = useState<Stroke | null>(null);
  // Keyboard: the anchor Shift extends from, the level it paints (busy
  // erases), and the week before (so that extending back shrinks the
  // rectangle).
  const [anchor, setAnchor] = useState<{ at: CellRef; level: Level; base: Week } | null>(null);
  const shown = stroke ? paintRect(stroke.base, stroke.anchor, stroke.to, stroke.level) : week;

  const begin = (e: PointerEvent) => {
    const at = cellAt(e.clientX, e.clientY);
    if (!at || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
    const level = strokeLevel(week, at, brush);
    setStroke({ anchor: at, to: at, level, base: week });
    setAnchor({ at, level, base: week });
    nav.setFocus(at);
  };
  const move = (e: PointerEvent) => {
    if (!stroke) return;
    const at = cellAt(e.clientX, e.clientY);
    if (at && (at.day !== stroke.to.day || at.cell !== stroke.to.cell)) setStroke({ ...stroke, to: at });
  };
  const end = () => {
    if (!stroke) return;
    onChange(shown);
    nav.setFocus(stroke.to);
    focusCell(root.current, stroke.to);
    setStroke(null);
  };

  const key = (e: KeyboardEvent) => {
    const here = nav.focus;
    if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      const level = strokeLevel(week, here, brush);
      onChange(paintRect(week, here, here, level));
      setAnchor({ at: here, level, base: week });
      return;
    }
    const to = nav.moved(e.key, here);
    if (!to) return;
    e.preventDefault();
    if (e.shiftKey) {
      const from = anchor ?? { at: here, level: strokeLevel(week, here, brush), base: week };
      if (!anchor) setAnchor(from);
      onChange(paintRect(from.base, from.at, to, from.level));
    } else {
      setAnchor(null);
    }
    nav.setFocus(to);
    focusCell(root.current, to);
  };

  return (
    <div
      ref={root}
      class="grid week"
      role="grid"
      aria-label={`Your weekly availability in ${tz}, 15-minute cells: drag or press Space to mark ${brush === IF_NEED_BE ? 'if-need-be' : 'free'} time`}
      aria-multiselectable="true"
      aria-rowcount={CELLS_PER_DAY + 1}
      aria-colcount={8}
      onPointerDown={begin}
      onPointerMove={move}
      onPointerUp={end}
      onPointerCancel={end}
      onKeyDown={key}
      data-testid="week-grid"
    >
      <div role="row" class="head">
        <Corner />
        {DAYS.map((d, i) => (
          <span role="columnheader" title={d}>
            {WEEKDAYS[i]}
          </span>
        ))}
      </div>
      {Array.from({ length: CELLS_PER_DAY }, (_, cell) => (
        <div role="row" class={cell % 4 === 0 ? 'hour' : undefined}>
          <TimeHeader cell={cell} />
          {DAYS.map((day, d) => {
            const state = cellState(shown, d, cell);
            const focused = nav.focus.day === d && nav.focus.cell === cell;
            return (
              <div
                role="gridcell"
                class={`cell ${state}`}
                data-day={d}
                data-cell={cell}
                aria-selected={state === 'free' || state === 'ifneedbe' ? 'true' : 'false'}
                aria-label={`${day} ${cellLabel(cell)}–${cellLabel(cell + 1)}, ${cellWords(shown, d, cell)}`}
                tabIndex={focused ? 0 : -1}
                onFocus={() => !focused && nav.setFocus({ day: d, cell })}
              />
            );
          })}
        </div>
      ))}
    </div>
  );
}
