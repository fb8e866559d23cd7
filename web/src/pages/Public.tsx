// Public meetings in the coming 90 days, with RSVP.

import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api';
import { addDays, formatRange } from '../model/time';
import type { Session } from '../session';
import { Busy, ErrorNote, Section, useAction } from '../ui/common';
import { Answerable, type Meeting } from './Meetings';

export function Public({ session }: { session: Session | null }) {
  const [list, setList] = useState<Meeting[] | null>(null);
  const load = useAction();
  const today = new Date().toISOString().slice(0, 10);
  const reload = () =>
    load.run(async () => {
      const { data } = await api<{ meetings: Meeting[] }>('GET', `/meetings/meetings?public=true&from=${today}&to=${addDays(today, 90)}`);
      setList(data.meetings);
    });
  useEffect(() => void reload(), []);
  return (
    <Section title="Public meetings" id="public-h">
      <Busy busy={load.busy} label="Loading public meetings…" />
      <ErrorNote error={load.error} onClose={load.clear} />
      {list && list.length === 0 && <p class="hint">No public meetings in the next 90 days.</p>}
      <ul class="plain" data-testid="public">
        {(list ?? []).map((m) => (
          <li>
            {session ? (
              <Answerable entry={m} me={session.email} path={`/meetings/meetings/${m.id}/rsvps/${seg(session.email)}`} onDone={reload} />
            ) : (
              <>
                <strong>{m.title}</strong> — {formatRange(m.start, m.end, m.tz)} ({m.tz}). <a href="#/">Log in</a> to RSVP.
              </>
            )}
            <p class="hint">
              RSVPs: {m.rsvp_counts.yes} yes, {m.rsvp_counts.maybe} maybe, {m.rsvp_counts.no} no.
            </p>
          </li>
        ))}
      </ul>
    </Section>
  );
}
