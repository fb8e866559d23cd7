// Your meetings: invites to answer, the calendar, ICS, the feed URL, and
// whom you share your calendar (and availability) with.

import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api';
import { addDays, formatRange } from '../model/time';
import type { Session } from '../session';
import { Busy, Done, ErrorNote, Section, useAction } from '../ui/common';

export interface Invite {
  email: string;
  answer: 'PENDING' | 'YES' | 'MAYBE' | 'NO';
}

export interface Meeting {
  id: string;
  title: string;
  description: string;
  start: string;
  end: string;
  tz: string;
  visibility: 'private' | 'public';
  status: string;
  organizer: string;
  attendees: Invite[];
  rsvp_counts: { yes: number; maybe: number; no: number };
  version: number;
}

interface Entry extends Meeting {
  role: 'organizer' | 'attendee' | 'rsvp';
  my_answer: Invite['answer'] | null;
}

const ANSWERS = ['YES', 'MAYBE', 'NO'] as const;

export function Meetings({ session }: { session: Session }) {
  const me = session.email;
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const load = useAction();
  const today = new Date().toISOString().slice(0, 10);
  const reload = () =>
    load.run(async () => {
      const { data } = await api<{ meetings: Entry[] }>('GET', `/meetings/calendars/${seg(me)}?from=${today}&to=${addDays(today, 180)}`);
      setEntries(data.meetings);
    });
  useEffect(() => {
    void reload();
    // Coming back to the tab shows what changed meanwhile.
    const onVisible = () => document.visibilityState === 'visible' && void reload();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [me]);
  const invites = (entries ?? []).filter((e) => e.role === 'attendee' && e.status !== 'cancelled');

  return (
    <>
      <Section title="Invites" id="invites-h">
        <button type="button" class="link" onClick={() => void reload()} disabled={load.busy}>
          Refresh
        </button>
        <Busy busy={load.busy} label="Loading your calendar…" />
        <ErrorNote error={load.error} onClose={load.clear} />
        {entries && invites.length === 0 && <p class="hint">No invites.</p>}
        <ul class="plain" data-testid="invites">
          {invites.map((e) => (
            <li>
              <Answerable entry={e} me={me} path={`/meetings/meetings/${e.id}/invites/${seg(me)}`} onDone={reload} />
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Your calendar" id="cal-h">
        {entries && entries.length === 0 && <p class="hint">Nothing booked in the next 180 days.</p>}
        <ul class="plain calendar" data-testid="calendar">
          {(entries ?? []).map((e) => (
            <li class={e.status === 'cancelled' ? 'cancelled' : undefined}>
              <strong>{e.title}</strong> — {formatRange(e.start, e.end, e.tz)} ({e.tz}){e.status === 'cancelled' ? ', cancelled' : ''}
              <br />
              <span class="hint">
                {e.role === 'organizer' ? 'You organize it' : `Organizer ${e.organizer}; your answer: ${e.my_answer ?? 'none'}`}.{' '}
                {e.attendees.map((a) => `${a.email}: ${a.answer}`).join(', ')}
              </span>
              <br />
              <IcsLink meeting={e} />
            </li>
          ))}
        </ul>
      </Section>
      <Feed me={me} />
      <Sharing me={me} />
    </>
  );
}

/** YES / MAYBE / NO for an invite or an RSVP. */
export function Answerable({ entry, me, path, onDone }: { entry: Meeting & { my_answer?: string | null }; me: string; path: string; onDone: () => void }) {
  const act = useAction();
  const answer = (a: string) =>
    act.run(async () => {
      await api('PUT', path, { body: { answer: a } });
      onDone();
    });
  return (
    <div class="answerable">
      <strong>{entry.title}</strong> — {formatRange(entry.start, entry.end, entry.tz)} ({entry.tz}), from {entry.organizer}
      {entry.my_answer ? `. Your answer: ${entry.my_answer}` : ''}
      <div class="row" role="group" aria-label={`Answer for ${entry.title} as ${me}`}>
        {ANSWERS.map((a) => (
          <button type="button" aria-pressed={entry.my_answer === a} disabled={act.busy} onClick={() => answer(a)}>
            {a === 'YES' ? 'Yes' : a === 'MAYBE' ? 'Maybe' : 'No'}
          </button>
        ))}
      </div>
      <Busy busy={act.busy} label="Sending your answer…" />
      <ErrorNote error={act.error} onClose={act.clear} />
    </div>
  );
}

/** The .ics is fetched with the token, then offered as a download. */
function IcsLink({ meeting }: { meeting: Meeting }) {
  const act = useAction();
  const download = () =>
    act.run(async () => {
      const { data } = await api<string>('GET', `/meetings/meetings/${meeting.id}/event.ics`, { text: true });
      const url = URL.createObjectURL(new Blob([data], { type: 'text/calendar' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${meeting.title.replace(/[^\w.-]+/g, '-').slice(0, 60) || 'meeting'}.ics`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });
  return (
    <>
      <button type="button" class="link" onClick={download} disabled={act.busy}>
        Download .ics
      </button>
      <ErrorNote error={act.error} onClose={act.clear} />
    </>
  );
}

function Feed({ me }: { me: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const act = useAction();
  const make = () =>
    act.run(async () => {
      const { data } = await api<{ feed_path: string }>('POST', `/meetings/calendars/${seg(me)}/feed-token`);
      setUrl(`${location.origin}${data.feed_path}`);
      setCopied(null);
    });
  const revoke = () =>
    act.run(async () => {
      await api('DELETE', `/meetings/calendars/${seg(me)}/feed-token`);
      setUrl(null);
      setCopied('The old feed URL no longer works.');
    });
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      setCopied('Copied.');
    } catch {
      (document.getElementById('feed-url') as HTMLInputElement | null)?.select();
      setCopied('Selected: press Ctrl+C (⌘C) to copy.');
    }
  };
  return (
    <Section title="Calendar feed" id="feed-h">
      <p>Subscribe to your meetings from a calendar app. The URL holds a secret: a new one replaces the old.</p>
      <div class="row">
        <button type="button" onClick={make} disabled={act.busy}>
          {url ? 'Make a new feed URL' : 'Get my feed URL'}
        </button>
        <button type="button" class="link" onClick={revoke} disabled={act.busy}>
          Revoke
        </button>
      </div>
      {url && (
        <div class="row">
          <label for="feed-url">
            Feed URL <input id="feed-url" readOnly value={url} size={60} data-testid="feed-url" />
          </label>
          <button type="button" onClick={copy}>
            Copy
          </button>
        </div>
      )}
      <Done message={copied} />
      <Busy busy={act.busy} label="Working…" />
      <ErrorNote error={act.error} onClose={act.clear} />
    </Section>
  );
}

function Sharing({ me }: { me: string }) {
  const [viewers, setViewers] = useState<string[] | null>(null);
  const [who, setWho] = useState('');
  const act = useAction();
  const path = `/users/users/${seg(me)}/shares`;
  const load = () => act.run(async () => setViewers((await api<{ viewers: string[] }>('GET', path)).data.viewers));
  useEffect(() => void load(), [me]);
  const add = (e: Event) => {
    e.preventDefault();
    const viewer = who.trim().toLowerCase();
    if (!viewer) return;
    act.run(async () => {
      await api('PUT', `${path}/${seg(viewer)}`);
      setWho('');
      setViewers((await api<{ viewers: string[] }>('GET', path)).data.viewers);
    });
  };
  const remove = (viewer: string) =>
    act.run(async () => {
      await api('DELETE', `${path}/${seg(viewer)}`);
      setViewers((await api<{ viewers: string[] }>('GET', path)).data.viewers);
    });
  return (
    <Section title="Share my calendar" id="share-h">
      <p>People you share with see your calendar, your week and your dated changes. Sharing is one-way.</p>
      <form class="row" onSubmit={add}>
        <label for="share-with">
          Email <input id="share-with" type="email" required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={act.busy}>
          Share
        </button>
      </form>
      <Busy busy={act.busy} label="Working…" />
      <ErrorNote error={act.error} onClose={act.clear} />
      <ul class="plain" data-testid="viewers">
        {(viewers ?? []).map((v) => (
          <li>
            {v}{' '}
            <button type="button" class="link" onClick={() => remove(v)} aria-label={`Stop sharing with ${v}`}>
              Stop sharing
            </button>
          </li>
        ))}
        {viewers && viewers.length === 0 && <li class="hint">Shared with nobody.</li>}
      </ul>
    </Section>
  );
}
