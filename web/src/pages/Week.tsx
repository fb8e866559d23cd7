// Paint your week (in your zone) and keep dated overrides.

import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, seg } from '../api';
import { freeMinutes, parseAvailabilities, toAvailabilities, type Availabilities, type Week as WeekSlots } from '../model/week';
import { addDays, browserZone, formatRange } from '../model/time';
import type { Session } from '../session';
import { Busy, Done, ErrorNote, Section, useAction, ZoneSelect } from '../ui/common';
import { WeekGrid } from '../ui/WeekGrid';

interface User {
  email: string;
  name: string;
  timezone: string;
  preferences: string;
  availabilities: Availabilities;
}

interface Override {
  date?: string;
  from?: string;
  to?: string;
  kind: string;
}

interface Overrides {
  overrides: Override[];
  version: number;
  /** Time booked meetings hold (UTC). */
  busy?: { start: string; end: string }[];
}

export function Week({ session }: { session: Session }) {
  const me = session.email;
  const [user, setUser] = useState<User | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [week, setWeek] = useState<WeekSlots | null>(null);
  const [tz, setTz] = useState('UTC');
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const load = useAction();
  const save = useAction();

  useEffect(() => {
    load.run(async () => {
      const { data, headers } = await api<User>('GET', `/users/users/${seg(me)}`);
      setUser(data);
      setEtag(headers.get('ETag'));
      const slots = parseAvailabilities(data.availabilities);
      setWeek(slots);
      // A profile nobody has painted yet still has the default zone (UTC):
      // propose this browser's, to be kept with Save.
      const fresh = freeMinutes(slots) === 0 && data.timezone === 'UTC' && browserZone() !== 'UTC';
      setTz(fresh ? browserZone() : data.timezone || 'UTC');
      setDirty(fresh);
    });
  }, [me]);

  const change = (w: WeekSlots) => {
    setWeek(w);
    setDirty(true);
    setSaved(null);
  };

  const store = () =>
    save.run(async () => {
      if (!user || !week) return;
      const body = { email: me, name: user.name, timezone: tz, preferences: user.preferences, availabilities: toAvailabilities(week) };
      const put = (tag: string | null) => api<User>('PUT', `/users/users/${seg(me)}`, { body, headers: tag ? { 'If-Match': tag } : {} });
      let answer;
      try {
        answer = await put(etag);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 412)) throw e;
        // A new version meanwhile. Only the dated changes or the version
        // moved (the week and zone as loaded): save on top of it. Someone
        // changed the week itself: say so; Save again overwrites it.
        const fresh = await api<User>('GET', `/users/users/${seg(me)}`);
        const same = (u: User) => JSON.stringify([u.timezone, u.availabilities]);
        setEtag(fresh.headers.get('ETag'));
        if (same(fresh.data) !== same(user)) {
          setUser(fresh.data);
          throw new ApiError(412, e.caseId, 'Your week was changed elsewhere (another tab or device) since this page loaded. Save again to replace it with what is painted here, or reload the page to see it.');
        }
        answer = await put(fresh.headers.get('ETag'));
      }
      const { data, headers } = answer;
      setUser(data);
      setEtag(headers.get('ETag'));
      setDirty(false);
      setSaved(`Saved: ${Math.round(freeMinutes(week) / 6) / 10} hours a week free, in ${tz}.`);
    });

  return (
    <>
      <Section title="Your week" id="week-h">
        <Busy busy={load.busy} label="Loading your week…" />
        <ErrorNote error={load.error} />
        {week && (
          <>
            <p>
              Drag across the grid to mark when you are free; start on a free cell to erase. With the keyboard: arrows move, Space
              toggles, Shift with arrows extends. Times are in your zone.
            </p>
            <div class="row">
              <ZoneSelect
                id="my-tz"
                label="Your time zone"
                value={tz}
                onChange={(z) => {
                  setTz(z);
                  setDirty(true);
                }}
              />
              <button type="button" onClick={store} disabled={save.busy || !dirty} data-testid="save-week">
                Save
              </button>
              <span class="hint">{dirty ? 'Unsaved changes' : ''}</span>
            </div>
            <Busy busy={save.busy} label="Saving…" />
            <Done message={saved} />
            <ErrorNote error={save.error} onClose={save.clear} />
            <WeekGrid week={week} onChange={change} tz={tz} />
          </>
        )}
      </Section>
      {user && <OverridesEditor me={me} tz={tz} onVersion={(v) => setEtag(`"${v}"`)} />}
    </>
  );
}

/** `onVersion`: a dated change makes a new version of the profile (its ETag). */
function OverridesEditor({ me, tz, onVersion }: { me: string; tz: string; onVersion: (version: number) => void }) {
  const [list, setList] = useState<Overrides | null>(null);
  const [date, setDate] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [kind, setKind] = useState('busy');
  const act = useAction();

  useEffect(() => {
    act.run(async () => setList((await api<Overrides>('GET', `/users/users/${seg(me)}/overrides`)).data));
  }, [me]);

  const put = (overrides: Override[]) =>
    act.run(async () => {
      const { data } = await api<Overrides>('PUT', `/users/users/${seg(me)}/overrides`, { body: { overrides } });
      setList(data);
      onVersion(data.version);
    });

  const add = (e: Event) => {
    e.preventDefault();
    if (!list || !date) return;
    const item: Override = from && to ? { from: `${date}T${from}`, to: `${date}T${to}`, kind } : { date, kind };
    put([...list.overrides.map(plain), item]);
  };

  return (
    <Section title="Dated changes" id="overrides-h">
      <p>Days or hours that differ from your usual week — a holiday, a late start — in {tz}.</p>
      <form class="row" onSubmit={add}>
        <label for="ov-date">
          Date <input id="ov-date" type="date" required value={date} onInput={(e) => setDate((e.target as HTMLInputElement).value)} />
        </label>
        <label for="ov-from">
          From <input id="ov-from" type="time" step={300} value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label for="ov-to">
          To <input id="ov-to" type="time" step={300} value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
        <label for="ov-kind">
          I am{' '}
          <select id="ov-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            <option value="busy">busy</option>
            <option value="free">free</option>
          </select>
        </label>
        <button type="submit" disabled={act.busy}>
          Add
        </button>
      </form>
      <p class="hint">Leave the times empty for the whole day.</p>
      <Busy busy={act.busy} label="Saving your changes…" />
      <ErrorNote error={act.error} onClose={act.clear} />
      {list && (
        <ul class="plain" data-testid="overrides">
          {list.overrides.map((o, i) => (
            <li>
              {span(o)}: {o.kind}{' '}
              <button type="button" class="link" onClick={() => put(list.overrides.filter((_, j) => j !== i).map(plain))}>
                Remove
              </button>
            </li>
          ))}
          {(list.busy ?? []).map((b) => (
            <li class="hint">
              {formatRange(b.start, b.end, tz)}: booked
            </li>
          ))}
          {list.overrides.length === 0 && !(list.busy ?? []).length && <li class="hint">None yet.</li>}
        </ul>
      )}
    </Section>
  );
}

/** "2031-03-03" for a whole day, else "2031-03-04 09:00 → 10:00". */
function span(o: Override): string {
  const [fd, ft] = (o.from ?? o.date ?? '').split('T');
  const [td, tt] = (o.to ?? '').split('T');
  if (ft === '00:00' && tt === '00:00') return addDays(fd, 1) === td ? `${fd}, all day` : `${fd} to ${addDays(td, -1)}, all days`;
  return td === fd ? `${fd} ${ft} → ${tt}` : `${fd} ${ft ?? ''} → ${td} ${tt ?? ''}`;
}

/** An override as the API takes it back. */
function plain(o: Override): Override {
  return o.date ? { date: o.date, kind: o.kind } : { from: o.from, to: o.to, kind: o.kind };
}
