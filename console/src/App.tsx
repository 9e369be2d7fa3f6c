// The console's frame: the header (navigation, who is signed in, the token bar), then the page of the route.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Provider, useQuery } from 'urql';
import { currentToken, loadSession, storeToken, type Session } from './auth';
import { makeClient } from './client';
import { ViewerDocument } from './generated/graphql';
import { AuditPage } from './pages/Audit';
import { CataloguePage } from './pages/Catalogue';
import { ComparePage } from './pages/Compare';
import { DeploymentsPage } from './pages/Deployments';
import { InboxPage } from './pages/Inbox';
import { LineagePage } from './pages/Lineage';
import { ModelPage } from './pages/Model';
import { VersionPage } from './pages/Version';
import { WebhooksPage } from './pages/Webhooks';
import { useRoute } from './router';
import { problemsOf } from './ui';

export function App() {
  const [generation, setGeneration] = useState(0); // a new client (and an empty cache) after each token change
  const client = useMemo(() => makeClient(), [generation]);
  const [session, setSession] = useState<Session>({ signInEnabled: false, signedIn: false });
  useEffect(() => {
    void loadSession().then(setSession);
  }, [generation]);
  return (
    <Provider value={client}>
      <Header session={session} onCredentials={() => setGeneration((n) => n + 1)} />
      <main id="main" tabIndex={-1}>
        <Page key={generation} />
      </main>
    </Provider>
  );
}

function Page() {
  const route = useRoute();
  switch (route.page) {
    case 'catalogue':
      return <CataloguePage params={route.params} />;
    case 'model':
      return <ModelPage name={route.name} />;
    case 'version':
      return <VersionPage name={route.name} version={route.version} />;
    case 'inbox':
      return <InboxPage />;
    case 'deployments':
      return <DeploymentsPage />;
    case 'webhooks':
      return <WebhooksPage />;
    case 'audit':
      return <AuditPage />;
    case 'lineage':
      return <LineagePage params={route.params} />;
    case 'compare':
      return <ComparePage name={route.name} versions={route.versions} />;
    default:
      return (
        <div className="notice">
          <h1>No such page</h1>
          <p>Nothing lives at <code>{route.path}</code>. Go to the <a href="#/">catalogue</a>.</p>
        </div>
      );
  }
}

function Header({ session, onCredentials }: { session: Session; onCredentials: () => void }) {
  const [{ data, error, fetching }] = useQuery({ query: ViewerDocument, requestPolicy: 'network-only' });
  const [draft, setDraft] = useState(currentToken());
  const hasToken = Boolean(currentToken());
  const viewer = data?.viewer;
  const next = encodeURIComponent('/' + window.location.hash);
  const use = (event: FormEvent) => {
    event.preventDefault();
    storeToken(draft);
    setDraft(currentToken());
    onCredentials();
  };
  const clear = () => {
    storeToken('');
    setDraft('');
    onCredentials();
  };
  let status = 'No token set';
  let kind = 'none';
  if (fetching && !viewer) {
    status = 'Checking…';
  } else if (viewer) {
    const roles = viewer.roles.length ? viewer.roles.join(', ') : 'no roles';
    status = `Signed in as ${viewer.subject} (${roles})${hasToken ? '' : ' · browser session'}`;
    kind = 'ok';
  } else if (error) {
    const problem = problemsOf(error)[0];
    status = hasToken ? `Token rejected: ${problem.code} ${problem.message}` : 'Not signed in';
    kind = hasToken ? 'error' : 'none';
  }
  return (
    <header className="top">
      <a className="skip" href="#main" onClick={(event) => { event.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <nav aria-label="Console">
        <a className="brand" href="#/">modelreg</a>
        <a href="#/">Catalogue</a>
        <a href="#/inbox">Approvals</a>
        <a href="#/deployments">Deployments</a>
        {viewer?.permissions.includes('audit:read') && <a href="#/audit">Audit</a>}
        {viewer?.permissions.includes('webhook:manage') && <a href="#/webhooks">Webhooks</a>}
        <a href="#/lineage">Lineage</a>
        <a href="/graphql">GraphiQL</a>
      </nav>
      <div className="who">
        <span id="token-status" className={`status ${kind}`} role="status" data-testid="viewer-status">{status}</span>
        {session.signInEnabled && !hasToken && (
          <a className="session-link" href={(session.signedIn ? '/auth/logout' : '/auth/login') + `?next=${next}`}>
            {session.signedIn ? 'Sign out' : 'Sign in'}
          </a>
        )}
      </div>
      {(!session.signInEnabled || hasToken || !viewer) && (
        <form className="token-bar" onSubmit={use} autoComplete="off" aria-label="Development token">
          <label htmlFor="token-input">Bearer token</label>
          <input id="token-input" type="password" spellCheck={false} placeholder="paste a JWT here" value={draft}
                 onChange={(event) => setDraft(event.target.value)} />
          <button type="submit" className="primary">Use token</button>
          <button type="button" onClick={clear}>Clear</button>
          {!session.signInEnabled && (
            <span className="hint">Get one: <code>./dev modelreg token --sub you --role data-scientist</code></span>
          )}
        </form>
      )}
    </header>
  );
}
