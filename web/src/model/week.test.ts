import { describe, expect, it } from 'vitest';
import { cellState, emptyWeek, freeMinutes, paintRect, parseAvailabilities, toAvailabilities } from './week';

describe('weekly pattern', () => {
  it('reads hour lists and intervals, writes merged intervals for all seven days', () => {
    const week = parseAvailabilities({ monday: [9, 10], tuesday: ['13:05-13:20', '13:20-14:00'], sunday: ['23:00-24:00'] });
    const out = toAvailabilities(week);
    expect(Object.keys(out)).toEqual(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
    expect(out.monday).toEqual(['09:00-11:00']);
    expect(out.tuesday).toEqual(['13:05-14:00']);
    expect(out.sunday).toEqual(['23:00-24:00']);
    expect(out.wednesday).toEqual([]);
  });

  it('keeps 5-minute detail that is finer than the grid', () => {
    const week = parseAvailabilities({ monday: ['09:05-09:10'] });
    expect(cellState(week, 0, 36)).toBe('partial');
    // Painting another cell leaves the partial one as it was.
    const painted = paintRect(week, { day: 0, cell: 40 }, { day: 0, cell: 40 }, true);
    expect(toAvailabilities(painted).monday).toEqual(['09:05-09:10', '10:00-10:15']);
  });

  it('paints and erases a rectangle between any two corners', () => {
    const week = paintRect(emptyWeek(), { day: 2, cell: 37 }, { day: 0, cell: 36 }, true);
    const out = toAvailabilities(week);
    expect(out.monday).toEqual(['09:00-09:30']);
    expect(out.tuesday).toEqual(['09:00-09:30']);
    expect(out.wednesday).toEqual(['09:00-09:30']);
    expect(freeMinutes(week)).toBe(90);
    const erased = paintRect(week, { day: 1, cell: 36 }, { day: 1, cell: 36 }, false);
    expect(toAvailabilities(erased).tuesday).toEqual(['09:15-09:30']);
    // The input is not changed.
    expect(toAvailabilities(week).tuesday).toEqual(['09:00-09:30']);
  });

  it('round-trips every stored pattern', () => {
    const av = { monday: ['00:00-00:05', '12:00-24:00'], friday: ['06:30-07:45'] };
    expect(toAvailabilities(parseAvailabilities(toAvailabilities(parseAvailabilities(av))))).toEqual(
      toAvailabilities(parseAvailabilities(av)),
    );
    expect(toAvailabilities(parseAvailabilities(av)).monday).toEqual(av.monday);
  });
});
