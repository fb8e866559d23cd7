// The shell: a skip link, the navigation, and one page per hash route
// (hash routes keep the gateway simple: every path but / stays the API's).

import { useEffect, useErrorBoundary, useState } from 'preact/hooks';
import { setSession } from './session';
import { Account } from './pages/Account';
import { Group } from './pages/Group';
import { Meetings } from './pages/Meetings';
import { Public } from './pages/Public';
import { Week } from './pages/Week';
import { useSession } from './ui/common';

const PAGES = [
  ['#/', 'Account'],
  ['#/week', 'My week'],
  ['#/group', 'Find a time'],
  ['#/meetings', 'My meetings'],
  ['#/public', 'Public meetings'],
] as const;

function useHash(): string {
  const [hash, set] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => set(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

export function App() {
  // A fault in a page's code is shown as one, never as a blank page.
  const [fault, resetFault] = useErrorBoundary();
  const session = useSession();
  const hash = useHash();
  const route = PAGES.some(([h]) => h === hash) ? hash : '#/';
  const title = PAGES.find(([h]) => h === route)![1];
  useEffect(() => {
    document.title = `${title} · W2Meet`;
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [title]);
  const needsLogin = (route === '#/week' || route === '#/meetings') && !session;

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <p class="brand">
          <span aria-hidden="true">▦</span> W2Meet
        </p>
        <nav aria-label="Main">
          <ul>
            {PAGES.map(([h, label]) => (
              <li>
                <a href={h} aria-current={h === route ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <p class="who-am-i">{session ? session.email : 'Not logged in'}</p>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {fault ? (
          <div class="error" role="alert">
            <p>Something went wrong in this page: {String(fault instanceof Error ? fault.message : fault)}</p>
            <button type="button" onClick={resetFault}>
              Try again
            </button>
          </div>
        ) : needsLogin ? (
          <Account session={null} onIn={setSession} />
        ) : route === '#/week' ? (
          <Week session={session!} />
        ) : route === '#/group' ? (
          <Group session={session} />
        ) : route === '#/meetings' ? (
          <Meetings session={session!} />
        ) : route === '#/public' ? (
          <Public session={session} />
        ) : (
          <Account session={session} onIn={setSession} />
        )}
      </main>
    </>
  );
}
