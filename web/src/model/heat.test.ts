import { describe, expect, it } from 'vitest';
import { anyIfNeedBe, describeCell, heatmap, level } from './heat';
import { nextMonday, addDays, localParts } from './time';

describe('heatmap', () => {
  it('lays intervals out on the viewing zone, counting only whole cells', () => {
    const days = heatmap(
      '2031-03-03T00:00:00Z',
      '2031-03-04T00:00:00Z',
      [
        { start: '2031-03-03T09:00:00Z', end: '2031-03-03T10:05:00Z', available: ['a@x', 'b@x'], count: 2 },
        { start: '2031-03-03T10:05:00Z', end: '2031-03-03T11:00:00Z', available: ['a@x'], count: 2, hidden: 1 },
      ],
      'UTC',
    );
    expect(days).toHaveLength(1);
    const cells = days[0].cells;
    expect(cells[36]).toMatchObject({ count: 2, names: ['a@x', 'b@x'], hidden: 0 });
    // 10:00–10:15 spans the change at 10:05: only a@x is free throughout
    // (b@x leaves, a hidden person arrives).
    expect(cells[40]).toMatchObject({ count: 1, names: ['a@x'], hidden: 0 });
    expect(cells[41]).toMatchObject({ count: 2, names: ['a@x'], hidden: 1 });
    expect(cells[44]).toMatchObject({ count: 0, names: [] });
  });

  it('shifts into another zone and skips the hour a spring-forward change removes', () => {
    // 2031-03-09 is the US change: 02:00 EST → 03:00 EDT.
    const days = heatmap('2031-03-09T05:00:00Z', '2031-03-10T04:00:00Z', [
      { start: '2031-03-09T14:00:00Z', end: '2031-03-09T15:00:00Z', available: ['a@x'], count: 1 },
    ], 'America/New_York');
    expect(days.map((d) => d.date)).toEqual(['2031-03-09']);
    const cells = days[0].cells;
    expect(cells[8]).toBeNull(); // 02:00 does not exist that night
    expect(cells[40]).toMatchObject({ count: 1 }); // 14:00Z = 10:00 EDT
    expect(cells[36]).toMatchObject({ count: 0 });
  });

  it('marks who is free only if need be, for any part of a cell', () => {
    const days = heatmap(
      '2031-03-03T00:00:00Z',
      '2031-03-04T00:00:00Z',
      [
        { start: '2031-03-03T09:00:00Z', end: '2031-03-03T09:05:00Z', available: ['a@x', 'b@x'], count: 2 },
        { start: '2031-03-03T09:05:00Z', end: '2031-03-03T09:30:00Z', available: ['a@x', 'b@x'], count: 2, if_need_be: ['b@x'] },
        {
          start: '2031-03-03T09:30:00Z',
          end: '2031-03-03T10:00:00Z',
          available: ['b@x'],
          count: 3,
          hidden: 2,
          hidden_if_need_be: 1,
        },
      ],
      'UTC',
    );
    const cells = days[0].cells;
    // b@x is if-need-be for 09:05–09:15: the whole cell shows it.
    expect(cells[36]).toMatchObject({ count: 2, names: ['a@x', 'b@x'], ifNeedBe: ['b@x'], hiddenIfNeedBe: 0 });
    expect(describeCell(cells[36]!, 3)).toBe('2 of 3 free: a@x, b@x (if need be)');
    expect(anyIfNeedBe(cells[36]!)).toBe(true);
    expect(cells[38]).toMatchObject({ count: 3, names: ['b@x'], ifNeedBe: [], hidden: 2, hiddenIfNeedBe: 1 });
    expect(describeCell(cells[38]!, 3)).toBe('3 of 3 free: b@x and 2 people you may not see (1 if need be)');
    expect(describeCell(cells[40]!, 3)).toBe('nobody of 3 free');
    expect(anyIfNeedBe(cells[40]!)).toBe(false);
  });

  it('colours by share of the group', () => {
    expect([0, 1, 2, 3, 4].map((n) => level(n, 4))).toEqual([0, 1, 2, 3, 4]);
    expect(level(1, 100)).toBe(1);
  });
});

describe('dates', () => {
  it('finds the coming Monday in a zone', () => {
    expect(nextMonday('UTC', new Date('2031-03-05T12:00:00Z'))).toBe('2031-03-10');
    expect(nextMonday('UTC', new Date('2031-03-10T12:00:00Z'))).toBe('2031-03-10');
    // Still Sunday in Los Angeles.
    expect(nextMonday('America/Los_Angeles', new Date('2031-03-10T03:00:00Z'))).toBe('2031-03-10');
    expect(addDays('2031-12-31', 1)).toBe('2032-01-01');
    expect(localParts(new Date('2031-03-10T03:00:00Z'), 'America/Los_Angeles').weekday).toBe(6);
  });
});
