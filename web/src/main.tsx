// The Axiom dashboard: one page app served by the API server. Every number and state on screen comes
// from an api.* function through the HTTPS API; nothing is computed from guesses.
import { render, type JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, onSignedOut, setCsrfToken } from './api';
import { pages, type PageDef } from './pages';
import { LoginPage } from './pages/login';
import { href, navigate, useRoute } from './router';
import { knownOrganizations, SessionContext, type Session } from './session';
import { Loading } from './ui';

function Shell(props: { session: Session; refresh: () => void; signOut: () => void }): JSX.Element {
  const route = useRoute();
  const id = route.path[0] ?? 'overview';
  const page: PageDef = pages.find((p) => p.id === id) ?? pages[0]!;
  const others = knownOrganizations().filter((s) => s !== props.session.organization.slug);
  const Component = page.component;
  return (
    <SessionContext.Provider value={{ session: props.session, refresh: props.refresh }}>
      <div class="shell">
        <aside class="nav">
          <a class="brand" href={href('overview')}>
            Axiom
          </a>
          <nav aria-label="Main">
            {pages
              .filter((p) => !p.hidden)
              .map((p) => (
                <a
                  href={href(p.id)}
                  class={p.id === page.id ? 'active' : undefined}
                  aria-current={p.id === page.id ? 'page' : undefined}
                >
                  {p.label}
                </a>
              ))}
          </nav>
        </aside>
        <div class="main">
          <header class="top">
            <div class="org">
              <strong data-testid="org-name">{props.session.organization.name}</strong>
              <span class="muted"> · {props.session.organization.plan_tier}</span>
              {others.length > 0 && (
                <select
                  aria-label="Switch organization"
                  class="org-switch"
                  onChange={(e) => {
                    const slug = (e.target as HTMLSelectElement).value;
                    if (slug) window.location.href = `/?organization=${encodeURIComponent(slug)}#/`;
                  }}
                >
                  <option value="">Switch organization…</option>
                  {others.map((s) => (
                    <option value={s}>{s}</option>
                  ))}
                </select>
              )}
            </div>
            <div class="who">
              <a href={href('account')} data-testid="who">
                {props.session.principal.display_name}
              </a>
              <button type="button" class="plain" onClick={props.signOut}>
                Sign out
              </button>
            </div>
          </header>
          <main>
            <Component route={route} />
          </main>
        </div>
      </div>
    </SessionContext.Provider>
  );
}

function App(): JSX.Element {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const refresh = useCallback(() => {
    api.get<Session>('/api/v1/auth/session').then(
      (s) => {
        setCsrfToken(s.csrf_token);
        setSession(s);
      },
      () => {
        setCsrfToken(undefined);
        setSession(null);
      },
    );
  }, []);
  useEffect(() => {
    refresh();
    return onSignedOut(() => setSession(null));
  }, [refresh]);
  if (session === undefined) return <Loading />;
  if (session === null) return <LoginPage onSignedIn={refresh} />;
  return (
    <Shell
      session={session}
      refresh={refresh}
      signOut={() => {
        void api.post('/api/v1/auth/logout').finally(() => {
          setCsrfToken(undefined);
          setSession(null);
          navigate('overview');
        });
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
