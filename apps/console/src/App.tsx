import { FormEvent, useEffect, useState } from 'react';
import { ApiError, forgetKey, getJson, hasKey, messageOf, setKey, whenKeyRefused } from './api';
import { MemberAuditPage } from './pages/MemberAuditPage';
import { OverviewPage } from './pages/OverviewPage';
import { SettlementPage } from './pages/SettlementPage';
import { VerifyPage } from './pages/VerifyPage';
import { Session } from './types';
import { Notice, PageErrorBoundary } from './ui';

type PageId = 'overview' | 'settlement' | 'members' | 'verify';

const PAGES: { id: PageId; label: string; visible: (s: Session) => boolean }[] = [
  { id: 'overview', label: 'Coalition overview', visible: () => true },
  { id: 'settlement', label: 'Settlement', visible: () => true },
  { id: 'members', label: 'Member audit', visible: () => true },
  // GET /v1/audit/verify and its jobs are for auditor keys only.
  { id: 'verify', label: 'Verify', visible: (s) => s.role === 'auditor' },
];

/** The page is in the URL's fragment (#settlement); the key never is. */
const pageFromHash = (): PageId => {
  const id = window.location.hash.replace(/^#\/?/, '');
  return (PAGES.find((p) => p.id === id)?.id ?? 'overview') as PageId;
};

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(hasKey());
  const [signInError, setSignInError] = useState<string | null>(null);
  const [page, setPage] = useState<PageId>(pageFromHash());

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  // A key revoked while signed in: back to the sign-in page, saying why.
  useEffect(() => {
    whenKeyRefused(() => {
      forgetKey();
      setSession(null);
      setSignInError('Your key is no longer accepted: it has been revoked or is unknown. Sign in with a valid key.');
    });
    return () => whenKeyRefused(null);
  }, []);

  // A key kept in this tab's sessionStorage: check it is still good before showing anything.
  useEffect(() => {
    if (!hasKey()) return;
    getJson<Session>('/v1/session')
      .then(setSession, (error: unknown) => {
        forgetKey();
        setSignInError(messageOf(error));
      })
      .finally(() => setChecking(false));
  }, []);

  const signIn = async (key: string, remember: boolean) => {
    setSignInError(null);
    setKey(key, remember);
    try {
      setSession(await getJson<Session>('/v1/session'));
    } catch (error) {
      forgetKey();
      setSignInError(
        error instanceof ApiError && error.status === 401
          ? 'That key was not accepted: it is unknown or has been revoked.'
          : messageOf(error),
      );
    }
  };

  const signOut = () => {
    forgetKey();
    setSession(null);
  };

  if (checking)
    return (
      <div className="signin">
        <p className="muted">Checking your key…</p>
      </div>
    );
  if (!session) return <SignIn onSubmit={signIn} error={signInError} />;

  const visible = PAGES.filter((p) => p.visible(session));
  const current = visible.find((p) => p.id === page) ?? visible[0];
  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">Coalition ledger</div>
        <nav>
          {visible.map((p) => (
            <a key={p.id} href={`#${p.id}`} className={p.id === current.id ? 'active' : ''} data-testid={`nav-${p.id}`}>
              {p.label}
            </a>
          ))}
        </nav>
        <div className="who" data-testid="who">
          <span className={`role role-${session.role}`}>{session.role}</span>
          {session.partnerId ? <span className="partner">{session.partnerId}</span> : null}
          <button className="link" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <main>
        <PageErrorBoundary key={current.id}>
          {current.id === 'overview' && <OverviewPage session={session} />}
          {current.id === 'settlement' && <SettlementPage session={session} />}
          {current.id === 'members' && <MemberAuditPage session={session} />}
          {current.id === 'verify' && <VerifyPage />}
        </PageErrorBoundary>
      </main>
    </div>
  );
}

function SignIn({ onSubmit, error }: { onSubmit: (key: string, remember: boolean) => Promise<void>; error: string | null }) {
  const [key, setKeyText] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!key.trim()) return;
    setBusy(true);
    await onSubmit(key.trim(), remember);
    setBusy(false);
    setKeyText('');
  };
  return (
    <div className="signin">
      {/* method=post and no action: even a form submitted without script never puts the key in the URL. */}
      <form className="card signin-card" onSubmit={submit} method="post" autoComplete="off">
        <h1>Coalition ledger console</h1>
        <p className="muted">Finance, auditors and partners. Paste your API key to sign in.</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          value={key}
          onChange={(e) => setKeyText(e.target.value)}
          placeholder="clk_…"
          autoFocus
          spellCheck={false}
          data-testid="api-key"
        />
        <label className="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Keep me signed in for this tab
          (session storage; gone when the tab closes)
        </label>
        <button type="submit" disabled={busy || !key.trim()} data-testid="sign-in">
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error ? (
          <Notice kind="error" testId="sign-in-error">
            {error}
          </Notice>
        ) : null}
        <p className="muted small">The key is sent only in the Authorization header to this API; it is never put in a URL or a cookie.</p>
      </form>
    </div>
  );
}
