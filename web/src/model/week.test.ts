import { describe, expect, it } from 'vitest';
import {
  BUSY,
  cellState,
  cellWords,
  emptyWeek,
  FREE,
  freeMinutes,
  IF_NEED_BE,
  ifNeedBeMinutes,
  paintRect,
  parseAvailabilities,
  strokeLevel,
  toAvailabilities,
  toIfNeedBe,
  toPatterns,
} from './week';

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

  it('reads both levels; where a slot is in both, plain free wins', () => {
    const week = parseAvailabilities({ monday: ['09:00-10:00'] }, { monday: ['09:30-11:00', 8], friday: [14] });
    expect(toAvailabilities(week).monday).toEqual(['09:00-10:00']);
    expect(toIfNeedBe(week).monday).toEqual(['08:00-09:00', '10:00-11:00']);
    expect(toIfNeedBe(week).friday).toEqual(['14:00-15:00']);
    expect(cellState(week, 0, 36)).toBe('free');
    expect(cellState(week, 0, 40)).toBe('ifneedbe');
    expect(cellWords(week, 0, 40)).toBe('free if need be');
    expect(freeMinutes(week)).toBe(60);
    expect(ifNeedBeMinutes(week)).toBe(180);
  });

  it('writes if_need_be only when there is some', () => {
    const plain = toPatterns(parseAvailabilities({ monday: [9] }));
    expect(plain).toEqual({ availabilities: expect.objectContaining({ monday: ['09:00-10:00'] }) });
    expect('if_need_be' in plain).toBe(false);
    const both = toPatterns(parseAvailabilities({ monday: [9] }, { monday: [9, 10] }));
    expect(both.availabilities.monday).toEqual(['09:00-10:00']);
    expect(both.if_need_be?.monday).toEqual(['10:00-11:00']);
    expect(Object.keys(both.if_need_be ?? {})).toHaveLength(7);
    // Round trip of both levels.
    const again = parseAvailabilities(both.availabilities, both.if_need_be);
    expect(toPatterns(again)).toEqual(both);
  });

  it('paints and erases at either level; a stroke on a cell the brush already painted erases it', () => {
    let week = paintRect(emptyWeek(), { day: 0, cell: 36 }, { day: 0, cell: 39 }, FREE);
    week = paintRect(week, { day: 0, cell: 38 }, { day: 0, cell: 41 }, IF_NEED_BE);
    expect(toAvailabilities(week).monday).toEqual(['09:00-09:30']);
    expect(toIfNeedBe(week).monday).toEqual(['09:30-10:30']);
    // The free brush on an if-need-be cell makes it free; on a free cell it erases.
    expect(strokeLevel(week, { day: 0, cell: 38 }, FREE)).toBe(FREE);
    expect(strokeLevel(week, { day: 0, cell: 36 }, FREE)).toBe(BUSY);
    expect(strokeLevel(week, { day: 0, cell: 38 }, IF_NEED_BE)).toBe(BUSY);
    expect(strokeLevel(week, { day: 0, cell: 50 }, IF_NEED_BE)).toBe(IF_NEED_BE);
    const erased = paintRect(week, { day: 0, cell: 41 }, { day: 0, cell: 41 }, BUSY);
    expect(toIfNeedBe(erased).monday).toEqual(['09:30-10:15']);
  });

  it('names mixed cells by what is in them', () => {
    const week = parseAvailabilities({ monday: ['09:00-09:05'] }, { monday: ['09:05-09:10', '10:00-10:05'] });
    expect(cellState(week, 0, 36)).toBe('partial');
    expect(cellWords(week, 0, 36)).toBe('partly free, partly free if need be');
    expect(cellWords(week, 0, 40)).toBe('partly free if need be');
    expect(cellWords(parseAvailabilities({ monday: ['09:00-09:05'] }), 0, 36)).toBe('partly free');
    expect(cellWords(week, 0, 44)).toBe('busy');
  });
});
