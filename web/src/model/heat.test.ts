import { describe, expect, it } from 'vitest';
import { heatmap, level } from './heat';
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
