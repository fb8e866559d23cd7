// Small shared pieces: the session hook, running an action with progress
// and a readable error, and how an error is shown.

import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { isZone, zones } from '../model/time';
import { getSession, onSessionChange, type Session } from '../session';

export function useSession(): Session | null {
  const [session, set] = useState(getSession());
  useEffect(() => onSessionChange(() => set(getSession())), []);
  return session;
}

export interface Action {
  busy: boolean;
  error: ApiError | null;
  /** Runs `work`; returns its value, or undefined when it failed (shown). */
  run: <T>(work: () => Promise<T>) => Promise<T | undefined>;
  clear: () => void;
}

/** One action's progress and error: nothing fails silently. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);
  const run = useCallback(async <T,>(work: () => Promise<T>) => {
    setBusy(true);
    setError(null);
    try {
      return await work();
    } catch (e) {
      if (alive.current) setError(e instanceof ApiError ? e : new ApiError(-1, '', `Something went wrong in this page: ${String(e)}`));
      return undefined;
    } finally {
      if (alive.current) setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

export function ErrorNote({ error, onClose }: { error: ApiError | null; onClose?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <p>{error.message}</p>
      {error.details.length > 1 && (
        <ul>
          {error.details.map((d) => (
            <li>
              {d.loc.join(' › ')}: {d.msg}
            </li>
          ))}
        </ul>
      )}
      {error.caseId && (
        <p class="case">
          Case-ID to quote: <code data-testid="case-id">{error.caseId}</code>
        </p>
      )}
      {onClose && (
        <button type="button" class="link" onClick={onClose}>
          Dismiss
        </button>
      )}
    </div>
  );
}

export function Busy({ busy, label }: { busy: boolean; label: string }) {
  if (!busy) return null;
  return (
    <p class="busy" role="status">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Done({ message }: { message: string | null }) {
  return (
    <p class="done" role="status">
      {message ?? ''}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/**
 * The zone picker: a searchable list of the browser's zones. A name the
 * browser does not know is not passed on; it is said next to the field.
 */
export function ZoneSelect({ id, value, onChange, label }: { id: string; value: string; onChange: (tz: string) => void; label: string }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const bad = text.trim() !== '' && !isZone(text.trim());
  return (
    <label for={id}>
      {label}{' '}
      <input
        id={id}
        list={`${id}-zones`}
        value={text}
        aria-invalid={bad}
        aria-describedby={bad ? `${id}-bad` : undefined}
        onInput={(e) => {
          const next = (e.target as HTMLInputElement).value;
          setText(next);
          if (isZone(next.trim())) onChange(next.trim());
        }}
      />
      {bad && (
        <span id={`${id}-bad`} class="invalid">
          Unknown time zone: pick one from the list (e.g. Europe/Berlin)
        </span>
      )}
      <ZoneList id={`${id}-zones`} extra={value} />
    </label>
  );
}

function ZoneList({ id, extra }: { id: string; extra: string }) {
  return (
    <datalist id={id}>
      {zones(extra).map((z) => (
        <option value={z} />
      ))}
    </datalist>
  );
}
