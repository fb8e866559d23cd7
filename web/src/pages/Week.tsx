// Paint your week (in your zone) and keep dated overrides.

import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, seg } from '../api';
import {
  FREE,
  freeMinutes,
  IF_NEED_BE,
  ifNeedBeMinutes,
  parseAvailabilities,
  toPatterns,
  type Availabilities,
  type Brush,
  type Week as WeekSlots,
} from '../model/week';
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
  /** Time free only if need be (SPEC §10); absent when none. */
  if_need_be?: Availabilities;
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
  const [brush, setBrush] = useState<Brush>(FREE);
  const [saved, setSaved] = useState<string | null>(null);
  const load = useAction();
  const save = useAction();

  useEffect(() => {
    load.run(async () => {
      const { data, headers } = await api<User>('GET', `/users/users/${seg(me)}`);
      setUser(data);
      setEtag(headers.get('ETag'));
      const slots = parseAvailabilities(data.availabilities, data.if_need_be);
      setWeek(slots);
      // A profile nobody has painted yet still has the default zone (UTC):
      // propose this browser's, to be kept with Save.
      const fresh = freeMinutes(slots) + ifNeedBeMinutes(slots) === 0 && data.timezone === 'UTC' && browserZone() !== 'UTC';
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
      // PUT replaces the whole user: if_need_be goes along whenever there is
      // some, and leaving it out clears it.
      const body = { email: me, name: user.name, timezone: tz, preferences: user.preferences, ...toPatterns(week) };
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
        const same = (u: User) => JSON.stringify([u.timezone, u.availabilities, u.if_need_be ?? null]);
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
      const maybe = ifNeedBeMinutes(week);
      setSaved(`Saved: ${hours(freeMinutes(week))} a week free${maybe ? ` and ${hours(maybe)} if need be` : ''}, in ${tz}.`);
    });

  return (
    <>
      <Section title="Your week" id="week-h">
        <Busy busy={load.busy} label="Loading your week…" />
        <ErrorNote error={load.error} />
        {week && (
          <>
            <p>
              Drag across the grid to mark when you are free; start on a cell already painted that way to erase. Paint{' '}
              <em>if need be</em> for time you can make only if you have to: meetings go there only when no better time fits. With
              the keyboard: arrows move, Space toggles, Shift with arrows extends. Times are in your zone.
            </p>
            <fieldset class="row brush">
              <legend>Paint</legend>
              <label class="check">
                <input type="radio" name="brush" checked={brush === FREE} onChange={() => setBrush(FREE)} /> <span class="swatch free" /> Free
              </label>
              <label class="check">
                <input type="radio" name="brush" checked={brush === IF_NEED_BE} onChange={() => setBrush(IF_NEED_BE)} />{' '}
                <span class="swatch ifneedbe" /> If need be
              </label>
            </fieldset>
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
            <WeekGrid week={week} onChange={change} tz={tz} brush={brush} />
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
            <option value="if_need_be">free if need be</option>
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
              {span(o)}: {KIND_WORDS[o.kind] ?? o.kind}{' '}
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

/** An override's kind as the list says it. */
const KIND_WORDS: Record<string, string> = { busy: 'busy', free: 'free', if_need_be: 'free if need be' };

/** "2.5 hours" (to a tenth). */
function hours(minutes: number): string {
  const h = Math.round(minutes / 6) / 10;
  return `${h} ${h === 1 ? 'hour' : 'hours'}`;
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
