// Find a time: a group's heatmap in a chosen zone, ranked suggestions with
// quorum and required people, a large group as a job, and booking.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { heatmap, type HeatDay, type Interval } from '../model/heat';
import { attendeeWords, blockerLines, changeLines, parseEmails, people, suggestionBody, type Explained, type GroupForm } from '../model/group';
import { browserZone, formatRange, nextMonday } from '../model/time';
import type { Session } from '../session';
import { Busy, ErrorNote, Section, useAction, ZoneSelect } from '../ui/common';
import { HeatGrid } from '../ui/HeatGrid';

export interface Suggestion {
  day: string;
  slot: number[];
  start: string;
  end: string;
  attendees: string[];
  missing: string[];
  hidden_attendees?: number;
  hidden_missing?: number;
  /** Attendees free only if need be (SPEC §10); absent when none. */
  if_need_be?: string[];
  hidden_if_need_be?: number;
  score: number;
  reason: string;
}

/** The rich answer; `blockers` and `smallest_change` explain it (SPEC §10). */
interface Suggestions extends Explained {
  suggestions: Suggestion[];
  empty_reason: string | null;
  empty_reason_detail?: string;
  alternatives: { relaxed: string; description: string; suggestion: Suggestion }[];
}

interface AvailabilityAnswer {
  users: string[];
  window: { start: string; end: string; tz: string };
  intervals: Interval[];
}

interface Job {
  job_id: string;
  /** The Case-ID of the submission (the job's every step logs it). */
  case_id: string;
  /** `enqueued` in the submission's answer, then as stored. */
  status: 'enqueued' | 'queued' | 'running' | 'succeeded' | 'failed';
  attempts: number;
  result: Suggestions | null;
  error: string | null;
}

/** Groups above this size run as a job (with progress) by default. */
export const JOB_THRESHOLD = 50;

export function Group({ session }: { session: Session | null }) {
  const [form, setForm] = useState<GroupForm>({
    emails: session ? session.email : '',
    tz: browserZone(),
    from: nextMonday(browserZone()),
    days: 7,
    duration: 60,
    minAttendees: '',
    optional: [],
    asJob: false,
  });
  const members = parseEmails(form.emails);
  const [heat, setHeat] = useState<{ days: HeatDay[]; total: number; tz: string } | null>(null);
  // The answer with the group and zone it was computed for (booking invites
  // those people, whatever the form says by then).
  const [result, setResult] = useState<{ answer: Suggestions; members: string[]; tz: string } | null>(null);
  const [asked, setAsked] = useState(0);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);
  const [job, setJob] = useState<Job | null>(null);
  const heatAct = useAction();
  const suggestAct = useAction();
  const set = (patch: Partial<GroupForm>) => setForm({ ...form, ...patch });
  const value = (e: Event) => (e.target as HTMLInputElement).value;

  const find = (e: Event) => {
    e.preventDefault();
    setResult(null);
    setJob(null);
    const body = suggestionBody(form);
    heatAct.run(async () => {
      const { data } = await api<AvailabilityAnswer>('POST', '/availability/availabilities', {
        body: { users: body.users, from: body.from, days: body.days, tz: body.tz, min_attendees: 1 },
      });
      setHeat({ days: heatmap(data.window.start, data.window.end, data.intervals, form.tz), total: data.users.length, tz: form.tz });
    });
    setAsked(asked + 1);
    const group = { members, tz: form.tz };
    suggestAct.run(async () => {
      const answer =
        form.asJob || members.length > JOB_THRESHOLD
          ? await runJob(body, setJob, () => alive.current)
          : (await api<Suggestions>('POST', '/suggestion/suggestions', { body })).data;
      setResult({ answer, ...group });
    });
  };

  return (
    <>
      <Section title="Find a time" id="group-h">
        <form class="stack" onSubmit={find}>
          <label for="emails">
            Who (emails, separated by commas or new lines)
            <textarea id="emails" rows={3} required value={form.emails} onInput={(e) => set({ emails: value(e) })} />
          </label>
          <div class="row">
            <ZoneSelect id="view-tz" label="Show times in" value={form.tz} onChange={(tz) => set({ tz })} />
            <label for="from">
              From <input id="from" type="date" required value={form.from} onInput={(e) => set({ from: value(e) })} />
            </label>
            <label for="days">
              Days <input id="days" type="number" min={1} max={366} required value={form.days} onInput={(e) => set({ days: Number(value(e)) })} />
            </label>
            <label for="duration">
              Length{' '}
              <select id="duration" value={form.duration} onChange={(e) => set({ duration: Number(value(e)) })}>
                {[15, 30, 45, 60, 90, 120, 180].map((m) => (
                  <option value={m}>{m < 60 ? `${m} min` : `${m / 60} h`}</option>
                ))}
              </select>
            </label>
            <label for="quorum">
              Quorum (people)
              <input
                id="quorum"
                type="number"
                min={1}
                max={Math.max(1, members.length)}
                placeholder="all"
                value={form.minAttendees}
                onInput={(e) =>
                  // Setting a quorum unticks everyone: tick who must come.
                  set({ minAttendees: value(e), optional: form.minAttendees.trim() || !value(e).trim() ? form.optional : members })
                }
              />
            </label>
          </div>
          {members.length > 1 && (
            <fieldset>
              <legend>Required (they must be free)</legend>
              {members.slice(0, 50).map((m) => (
                <label class="check">
                  <input
                    type="checkbox"
                    checked={!form.optional.includes(m)}
                    onChange={(e) =>
                      set({ optional: (e.target as HTMLInputElement).checked ? form.optional.filter((o) => o !== m) : [...form.optional, m] })
                    }
                  />{' '}
                  {m}
                </label>
              ))}
              {members.length > 50 && <p class="hint">…and {members.length - 50} more, all required unless a quorum is set.</p>}
            </fieldset>
          )}
          <label class="check">
            <input type="checkbox" checked={form.asJob || members.length > JOB_THRESHOLD} disabled={members.length > JOB_THRESHOLD} onChange={(e) => set({ asJob: (e.target as HTMLInputElement).checked })} /> Run as a
            background job {members.length > JOB_THRESHOLD ? `(always for more than ${JOB_THRESHOLD} people)` : ''}
          </label>
          <div class="row">
            <button type="submit" disabled={heatAct.busy || suggestAct.busy || members.length < 2} data-testid="find">
              Find times
            </button>
            {members.length < 2 && <span class="hint">Enter at least two people.</span>}
          </div>
        </form>
      </Section>
      <Section title="Who is free" id="heat-h">
        <Busy busy={heatAct.busy} label="Reading everyone's availability…" />
        <ErrorNote error={heatAct.error} onClose={heatAct.clear} />
        {heat ? <HeatGrid key={asked} days={heat.days} total={heat.total} tz={heat.tz} /> : !heatAct.busy && <p class="hint">The heatmap appears here.</p>}
      </Section>
      <Section title="Suggested times" id="sugg-h">
        {job && <JobProgress job={job} />}
        <Busy busy={suggestAct.busy && !job} label="Ranking meeting times…" />
        <ErrorNote error={suggestAct.error} onClose={suggestAct.clear} />
        {result && <SuggestionList result={result.answer} tz={result.tz} members={result.members} session={session} />}
      </Section>
    </>
  );
}

/** How long the page follows a job before it says so (the job itself goes on). */
const JOB_PATIENCE_MS = 10 * 60 * 1000;
/** How long each read of a running job waits for its end (`?wait=`). */
const JOB_WAIT_S = 5;

/**
 * Submits the job and follows it until it finishes: each read waits for the
 * job's end (`GET /worker/tasks/{id}?wait=`), so the answer shows the moment
 * it is stored; a read that fails for a reason that passes (no answer, 5xx)
 * is retried after a growing pause; the page stops following when it is
 * left (`following` false) or after JOB_PATIENCE_MS.
 */
async function runJob(body: object, onUpdate: (j: Job) => void, following: () => boolean): Promise<Suggestions> {
  const { data: created } = await api<Job>('POST', '/worker/tasks', { body, headers: { 'Idempotency-Key': crypto.randomUUID() } });
  let job = created;
  onUpdate(job);
  const deadline = Date.now() + JOB_PATIENCE_MS;
  let failures = 0;
  while (job.status !== 'succeeded' && job.status !== 'failed') {
    if (!following()) throw new ApiError(-1, created.case_id, 'Stopped following the job (the page was left); it goes on.');
    if (Date.now() > deadline) throw new ApiError(-1, created.case_id, `Job ${job.job_id} is still ${job.status} after 10 minutes; look it up later at /worker/tasks/${job.job_id}.`);
    try {
      // The read waits for the job's end (up to JOB_WAIT_S): no polling.
      job = (await api<Job>('GET', `/worker/tasks/${job.job_id}?wait=${JOB_WAIT_S}`)).data;
      failures = 0;
    } catch (e) {
      const passing = e instanceof ApiError && (e.status === 0 || e.status >= 500);
      if (!passing || ++failures > 5) throw e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** failures));
      continue;
    }
    onUpdate(job);
  }
  if (job.status === 'failed' || !job.result) throw new ApiError(-1, job.case_id, `The job failed: ${job.error ?? 'no reason given'}.`);
  return job.result;
}

function JobProgress({ job }: { job: Job }) {
  const done = job.status === 'succeeded' || job.status === 'failed';
  return (
    <div class="job" role="status" data-testid="job">
      <label>
        Job {job.job_id.slice(0, 8)}: <strong>{job.status}</strong>
        {job.attempts > 1 ? ` (attempt ${job.attempts})` : ''}{' '}
        <progress max={3} value={done ? 3 : job.status === 'running' ? 2 : 1} aria-label="Job progress" />
      </label>
    </div>
  );
}

/** Why the answer is what it is: the smallest change when nothing fits, and who keeps the best times off the list. */
function Explanation({ result, tz }: { result: Suggestions; tz: string }) {
  const changes = changeLines(result, (start, end) => formatRange(start, end, tz));
  const blockers = blockerLines(result);
  if (changes.length === 0 && blockers.length === 0) return null;
  return (
    <div class="explain" data-testid="explanation">
      {changes.length > 0 && (
        <>
          <p>What would make a time fit:</p>
          <ul data-testid="smallest-change">
            {changes.map((l) => (
              <li>{l}.</li>
            ))}
          </ul>
        </>
      )}
      {blockers.length > 0 && (
        <>
          <p>{result.suggestions.length ? 'Why no better time is listed:' : 'Who keeps the best times out of reach:'}</p>
          <ul data-testid="blockers">
            {blockers.map((l) => (
              <li>{l}.</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function SuggestionList({ result, tz, members, session }: { result: Suggestions; tz: string; members: string[]; session: Session | null }) {
  if (result.suggestions.length === 0) {
    return (
      <div data-testid="no-suggestions">
        <p>
          <strong>No time fits.</strong> {result.empty_reason_detail ?? result.empty_reason}
        </p>
        <Explanation result={result} tz={tz} />
        {result.alternatives.length > 0 && (
          <>
            <p>Nearest if you relax one thing:</p>
            <ol class="suggestions">
              {result.alternatives.map((a) => (
                <SuggestionItem s={a.suggestion} tz={tz} members={members} session={session} note={a.description} />
              ))}
            </ol>
          </>
        )}
      </div>
    );
  }
  return (
    <>
      <ol class="suggestions" data-testid="suggestions">
        {result.suggestions.map((s) => (
          <SuggestionItem s={s} tz={tz} members={members} session={session} />
        ))}
      </ol>
      <Explanation result={result} tz={tz} />
    </>
  );
}

function SuggestionItem({ s, tz, members, session, note }: { s: Suggestion; tz: string; members: string[]; session: Session | null; note?: string }) {
  const [open, setOpen] = useState(false);
  return (
    <li class="suggestion">
      <p>
        <strong>{formatRange(s.start, s.end, tz)}</strong> — {Math.round(s.score * 100)}% can come
      </p>
      {note && note !== s.reason && <p class="hint">{note}</p>}
      <p class="hint">
        {s.reason}. Free: {attendeeWords(s)}
        {s.missing.length + (s.hidden_missing ?? 0) > 0 && `; cannot: ${people(s.missing, s.hidden_missing)}`}.
      </p>
      {session ? (
        open ? (
          <BookForm s={s} tz={tz} members={members} me={session.email} onClose={() => setOpen(false)} />
        ) : (
          <button type="button" onClick={() => setOpen(true)}>
            Book this time
          </button>
        )
      ) : (
        <p class="hint">
          <a href="#/">Log in</a> to book it.
        </p>
      )}
    </li>
  );
}

function BookForm({ s, tz, members, me, onClose }: { s: Suggestion; tz: string; members: string[]; me: string; onClose: () => void }) {
  const [title, setTitle] = useState('Meeting');
  const [description, setDescription] = useState('');
  const [visibility, setVisibility] = useState<'private' | 'public'>('private');
  const [key] = useState(() => crypto.randomUUID());
  const [booked, setBooked] = useState<string | null>(null);
  const act = useAction();
  useEffect(() => setBooked(null), [s.start]);
  const book = (e: Event) => {
    e.preventDefault();
    act.run(async () => {
      const attendees = members.filter((m) => m !== me);
      const { data } = await api<{ id: string }>('POST', '/meetings/meetings', {
        body: { title: title.trim() || 'Meeting', description, start: s.start, end: s.end, tz, attendees, visibility },
        headers: { 'Idempotency-Key': key },
      });
      setBooked(data.id);
    });
  };
  if (booked)
    return (
      <p class="done" role="status" data-testid="booked">
        Booked: {title} — invites sent. <a href="#/meetings">See your meetings</a>.
      </p>
    );
  return (
    <form class="stack book" onSubmit={book} aria-label="Book this time">
      <label>
        Title <input value={title} required maxLength={200} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Description <textarea rows={2} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={visibility === 'public'} onChange={(e) => setVisibility((e.target as HTMLInputElement).checked ? 'public' : 'private')} />{' '}
        Public (listed, anyone can RSVP)
      </label>
      <div class="row">
        <button type="submit" disabled={act.busy}>
          Book and invite
        </button>
        <button type="button" class="link" onClick={onClose}>
          Cancel
        </button>
      </div>
      <Busy busy={act.busy} label="Booking…" />
      <ErrorNote error={act.error} onClose={act.clear} />
    </form>
  );
}
