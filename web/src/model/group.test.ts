import { describe, expect, it } from 'vitest';
import { parseEmails, suggestionBody, type GroupForm } from './group';

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
