// Sign up, log in, log out.

import { useState } from 'preact/hooks';
import { api, sessionFrom, type TokenPair } from '../api';
import { clearSession, type Session } from '../session';
import { Busy, ErrorNote, Section, useAction } from '../ui/common';

function field(e: Event): string {
  return (e.target as HTMLInputElement).value;
}

export function Account({ session, onIn }: { session: Session | null; onIn: (s: Session) => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const act = useAction();

  if (session) {
    const logout = () =>
      act.run(async () => {
        // Logged out here whatever the answer; the server revokes the login when it can.
        try {
          await api('POST', '/users/auth/logout', { body: { refresh_token: session.refresh_token }, auth: false });
        } finally {
          clearSession();
        }
      });
    return (
      <Section title="Your account" id="account-h">
        <p>
          Logged in as <strong data-testid="me">{session.email}</strong>.
        </p>
        <p>
          <a href="#/week">Paint your week</a> · <a href="#/group">Find a time for a group</a> · <a href="#/meetings">Your meetings</a>
        </p>
        <button type="button" onClick={logout} disabled={act.busy}>
          Log out
        </button>
        <Busy busy={act.busy} label="Logging out…" />
        <ErrorNote error={act.error} onClose={act.clear} />
      </Section>
    );
  }

  const submit = (e: Event) => {
    e.preventDefault();
    const address = email.trim().toLowerCase();
    act.run(async () => {
      const path = mode === 'login' ? '/users/auth/login' : '/users/auth/register';
      const body = mode === 'login' ? { email: address, password } : { email: address, password, ...(name.trim() ? { name: name.trim() } : {}) };
      const { data } = await api<TokenPair>('POST', path, { body, auth: false });
      onIn(sessionFrom(address, data));
    });
  };

  return (
    <Section title={mode === 'login' ? 'Log in' : 'Sign up'} id="account-h">
      <form onSubmit={submit} class="stack" aria-describedby="account-why">
        <p id="account-why">
          {mode === 'login'
            ? 'Log in to paint your week, book meetings and answer invites.'
            : 'An account makes your profile yours: only you can change it, and only the people you share with see it.'}
        </p>
        <label for="email">
          Email <input id="email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(field(e))} />
        </label>
        {mode === 'register' && (
          <label for="name">
            Name (optional) <input id="name" autocomplete="name" value={name} onInput={(e) => setName(field(e))} />
          </label>
        )}
        <label for="password">
          Password{' '}
          <input
            id="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 8 : undefined}
            value={password}
            onInput={(e) => setPassword(field(e))}
          />
        </label>
        <div class="row">
          <button type="submit" disabled={act.busy}>
            {mode === 'login' ? 'Log in' : 'Sign up'}
          </button>
          <button type="button" class="link" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
            {mode === 'login' ? 'No account yet? Sign up' : 'Have an account? Log in'}
          </button>
        </div>
        <Busy busy={act.busy} label={mode === 'login' ? 'Logging in…' : 'Creating your account…'} />
        <ErrorNote error={act.error} onClose={act.clear} />
      </form>
    </Section>
  );
}
