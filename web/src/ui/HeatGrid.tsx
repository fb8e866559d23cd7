// The group heatmap: one column per local date, one row per quarter hour,
// coloured by how many are free (at either level), striped where someone is
// free only if need be; who is free shows on hover and on focus (keyboard:
// arrows move, as in the paint grid).

import { useRef, useState } from 'preact/hooks';
import { anyIfNeedBe, describeCell, level, type HeatDay } from '../model/heat';
import { cellLabel } from '../model/week';
import { cellAt, focusCell, useGridFocus } from './grid';
import { Corner, TimeHeader } from './GridParts';
import { WEEKDAYS } from '../model/time';

/** Rows worth showing: where anyone is free, an hour either side, at least 08:00–18:00. */
function rowRange(days: HeatDay[]): [number, number] {
  let lo = 32;
  let hi = 71;
  for (const d of days)
    d.cells.forEach((c, i) => {
      if (c && c.count > 0) {
        lo = Math.min(lo, i - 4);
        hi = Math.max(hi, i + 4);
      }
    });
  return [Math.max(0, lo), Math.min(95, hi)];
}

export function HeatGrid({ days, total, tz }: { days: HeatDay[]; total: number; tz: string }) {
  const root = useRef<HTMLDivElement>(null);
  const [lo, hi] = rowRange(days);
  const rows = hi - lo + 1;
  const nav = useGridFocus(days.length, rows, { day: 0, cell: 0 });
  const [shown, setShown] = useState<{ day: number; row: number } | null>(null);
  const cellOf = (d: number, r: number) => days[d]?.cells[lo + r] ?? null;
  const describeAt = (d: number, r: number) => {
    const c = cellOf(d, r);
    const label = `${WEEKDAYS[days[d].weekday]} ${days[d].date} ${cellLabel(lo + r)}–${cellLabel(lo + r + 1)}`;
    return c ? `${label}: ${describeCell(c, total)}` : `${label}: not on the clock that day (time change)`;
  };

  const key = (e: KeyboardEvent) => {
    const to = nav.moved(e.key, nav.focus);
    if (!to) return;
    e.preventDefault();
    nav.setFocus(to);
    setShown({ day: to.day, row: to.cell });
    focusCell(root.current, to);
  };
  const hover = (e: PointerEvent) => {
    const at = cellAt(e.clientX, e.clientY);
    if (at) setShown({ day: at.day, row: at.cell });
  };

  return (
    <div class="heat">
      <p class="legend" aria-hidden="true">
        <span class="cell l0" /> nobody <span class="cell l1" /> some <span class="cell l2" /> half <span class="cell l3" /> most{' '}
        <span class="cell l4" /> everyone <span class="cell l2 inb" /> someone only if need be
      </p>
      <div class="scroll">
        <div
          ref={root}
          class="grid heat-grid"
          role="grid"
          aria-readonly="true"
          aria-label={`Who is free, ${total} people, in ${tz}`}
          aria-rowcount={rows + 1}
          aria-colcount={days.length + 1}
          onKeyDown={key}
          onPointerMove={hover}
          data-testid="heatmap"
        >
          <div role="row" class="head">
            <Corner />
            {days.map((d) => (
              <span role="columnheader">
                {WEEKDAYS[d.weekday]}
                <br />
                <small>{d.date.slice(5)}</small>
              </span>
            ))}
          </div>
          {Array.from({ length: rows }, (_, r) => (
            <div role="row" class={(lo + r) % 4 === 0 ? 'hour' : undefined}>
              <TimeHeader cell={lo + r} />
              {days.map((_, d) => {
                const c = cellOf(d, r);
                const focused = nav.focus.day === d && nav.focus.cell === r;
                return (
                  <div
                    role="gridcell"
                    class={`cell ${c ? `l${level(c.count, total)}${anyIfNeedBe(c) ? ' inb' : ''}` : 'gap'}`}
                    data-day={d}
                    data-cell={r}
                    data-count={c?.count ?? 0}
                    data-if-need-be={c ? c.ifNeedBe.length + c.hiddenIfNeedBe : 0}
                    aria-label={describeAt(d, r)}
                    tabIndex={focused ? 0 : -1}
                    onFocus={() => {
                      nav.setFocus({ day: d, cell: r });
                      setShown({ day: d, row: r });
                    }}
                  />
                );
              })}
            </div>
          ))}
        </div>
      </div>
      <p class="who" aria-live="polite" data-testid="heat-who">
        {shown && days[shown.day] ? describeAt(shown.day, shown.row) : 'Point at or focus a cell to see who is free.'}
      </p>
    </div>
  );
}
