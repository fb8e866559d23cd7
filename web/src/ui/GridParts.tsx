// The pieces both grids (paint and heatmap) draw alike: the corner header
// and the time of a quarter-hour row (shown on the hour, read out always).

import { cellLabel } from '../model/week';

export function Corner() {
  return (
    <span role="columnheader" class="corner">
      <span class="sr">Time</span>
    </span>
  );
}

export function TimeHeader({ cell }: { cell: number }) {
  return (
    <span role="rowheader" class="time">
      {cell % 4 === 0 ? cellLabel(cell) : <span class="sr">{cellLabel(cell)}</span>}
    </span>
  );
}
