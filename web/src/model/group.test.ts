import { describe, expect, it } from 'vitest';
import { attendeeWords, blockerLines, changeLines, parseEmails, suggestionBody, type GroupForm } from './group';
import { formatRange } from './time';

const form = (patch: Partial<GroupForm>): GroupForm => ({
  emails: 'Ann@X.org, bob@x.org\ncat@x.org; ann@x.org',
  tz: 'Europe/Berlin',
  from: '2031-03-03',
  days: 7,
  duration: 60,
  minAttendees: '',
  optional: [],
  asJob: false,
  ...patch,
});

describe('group form', () => {
  it('splits, trims, lower-cases and de-duplicates emails', () => {
    expect(parseEmails(' Ann@X.org,, bob@x.org\n\ncat@x.org; ann@x.org ')).toEqual(['ann@x.org', 'bob@x.org', 'cat@x.org']);
  });

  it('leaves required to the default when everyone is ticked and no quorum is set', () => {
    const body = suggestionBody(form({}));
    expect(body).toEqual({ users: ['ann@x.org', 'bob@x.org', 'cat@x.org'], from: '2031-03-03', days: 7, tz: 'Europe/Berlin', duration: 60, count: 5 });
  });

  it('sends the ticked people as required with a quorum or an unticked member', () => {
    expect(suggestionBody(form({ minAttendees: '2', optional: ['ann@x.org', 'bob@x.org', 'cat@x.org'] }))).toMatchObject({ min_attendees: 2, required: [] });
    // Unticked without a quorum: the ticked ones are enough.
    expect(suggestionBody(form({ optional: ['bob@x.org'] }))).toMatchObject({ required: ['ann@x.org', 'cat@x.org'], min_attendees: 2 });
    expect(suggestionBody(form({ optional: ['ann@x.org', 'bob@x.org', 'cat@x.org'] }))).toMatchObject({ required: [], min_attendees: 1 });
  });
});

describe('the answer in words', () => {
  it('marks attendees who come only if need be', () => {
    expect(attendeeWords({ attendees: ['ann@x.io', 'bob@x.io'], if_need_be: ['bob@x.io'] })).toBe('ann@x.io, bob@x.io (if need be)');
    expect(attendeeWords({ attendees: ['ann@x.io'] })).toBe('ann@x.io');
    expect(attendeeWords({ attendees: ['ann@x.io'], hidden_attendees: 2, hidden_if_need_be: 1 })).toBe(
      'ann@x.io and 2 you may not see (1 of them only if need be)',
    );
  });

  it('names who keeps the best times off the list', () => {
    expect(blockerLines({ blockers: [] })).toEqual([]);
    expect(blockerLines({})).toEqual([]);
    expect(blockerLines({ blockers: [{ email: 'bob@x.io', best_slots_missed: 3 }], hidden_blockers: 1 })).toEqual([
      'bob@x.io keeps the best times off the list (not free for 3 of them)',
      '1 person you may not see keeps them off too',
    ]);
  });

  it('says the smallest change, times in the viewing zone', () => {
    const berlin = (s: string, e: string) => formatRange(s, e, 'Europe/Berlin');
    const nine = berlin('2031-03-03T09:00:00Z', '2031-03-03T10:00:00Z');
    expect(nine).toMatch(/3 Mar 2031, 10:00–11:00$/);
    expect(changeLines({ smallest_change: null }, berlin)).toEqual([]);
    expect(
      changeLines(
        {
          smallest_change: {
            people: { users: ['bob@x.io'], start: '2031-03-03T09:00:00Z', end: '2031-03-03T10:00:00Z' },
            duration: 40,
            min_attendees: 2,
          },
        },
        berlin,
      ),
    ).toEqual([
      `If bob@x.io could make ${nine}, that time would fit`,
      'or shorten the meeting to 40 minutes',
      'or accept 2 attendees (a smaller quorum)',
    ]);
    expect(
      changeLines(
        { smallest_change: { people: { users: ['a@x.io', 'b@x.io'], hidden: 1, start: '2031-03-03T09:00:00Z', end: '2031-03-03T10:00:00Z' }, duration: null, min_attendees: null } },
        berlin,
      ),
    ).toEqual([`If a@x.io, b@x.io and 1 person you may not see could make ${nine}, that time would fit`]);
    expect(changeLines({ smallest_change: { people: null, duration: 30, min_attendees: null } }, berlin)).toEqual([
      'Shorten the meeting to 30 minutes',
    ]);
    expect(changeLines({ smallest_change: { people: null, duration: null, min_attendees: null, days: 4 } }, berlin)).toEqual([
      'Look 4 days ahead',
    ]);
    expect(changeLines({ smallest_change: { people: null, duration: null, min_attendees: null, days: null } }, berlin)).toEqual([
      'No single change of people, length, quorum or days would make a time fit',
    ]);
  });
});
