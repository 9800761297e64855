import { Component, ReactNode, useCallback, useEffect, useState } from 'react';
import { messageOf } from './api';

/** A readable message box: errors in red, notes in grey. */
export function Notice({ kind = 'info', children, testId }: { kind?: 'info' | 'error' | 'ok'; children: ReactNode; testId?: string }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {children}
    </div>
  );
}

export function Card({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      <header className="card-head">
        <h2>{title}</h2>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export type Loaded<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; value: T };

/** Loads once per change of `deps`, keeping the latest answer only. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  const stableLoad = useCallback(load, deps);
  useEffect(() => {
    let live = true;
    setResult({ state: 'loading' });
    stableLoad().then(
      (value) => live && setResult({ state: 'ok', value }),
      (error: unknown) => live && setResult({ state: 'error', message: messageOf(error) }),
    );
    return () => {
      live = false;
    };
  }, [stableLoad, round]);
  return [result, () => setRound((r) => r + 1)];
}

/** Loading and error states of a Loaded value; the children render the value. */
export function Show<T>({ loaded, children, what }: { loaded: Loaded<T>; children: (value: T) => ReactNode; what: string }) {
  if (loaded.state === 'loading') return <p className="muted">Loading {what}…</p>;
  if (loaded.state === 'error')
    return (
      <Notice kind="error">
        Could not load {what}: {loaded.message}
      </Notice>
    );
  return <>{children(loaded.value)}</>;
}

/** A page that fails to render shows what went wrong instead of a blank screen. */
export class PageErrorBoundary extends Component<{ children: ReactNode }, { message: string | null }> {
  state = { message: null as string | null };

  static getDerivedStateFromError(error: unknown) {
    return { message: error instanceof Error ? error.message : String(error) };
  }

  render() {
    if (this.state.message === null) return this.props.children;
    return <Notice kind="error">This page could not be shown: {this.state.message}. Reload the page or pick another one.</Notice>;
  }
}
