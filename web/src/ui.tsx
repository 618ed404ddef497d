// Small building blocks every page uses: loading state, errors, tables, badges, forms, dialogs.
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api';

/**
 * Load data, show progress and errors honestly, reload on demand or when deps change. `reload()`
 * settles once the page shows what the new load found (or its error), so a page says "saved" only
 * when what it shows already includes the change.
 */
export function useAsync<T>(
  load: () => Promise<T>,
  deps: unknown[] = [],
): {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => Promise<void>;
} {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  // Callers of reload() waiting for a load that starts after their call.
  const waiting = useRef<Array<() => void>>([]);
  useEffect(() => {
    let live = true;
    const settles = waiting.current.splice(0);
    const settle = (): void => settles.splice(0).forEach((r) => r());
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => {
        if (!live) return;
        setState({ data, loading: false });
        settle();
      },
      (e: unknown) => {
        if (!live) return;
        setState({ error: describeError(e), loading: false });
        settle();
      },
    );
    return () => {
      live = false;
      // Superseded: the next load answers them.
      waiting.current.unshift(...settles.splice(0));
    };
  }, [...deps, tick]);
  // Unmounted: nobody waits for a load that will not come.
  useEffect(() => () => waiting.current.splice(0).forEach((r) => r()), []);
  const reload = useCallback(
    () =>
      new Promise<void>((resolve) => {
        waiting.current.push(resolve);
        setTick((t) => t + 1);
      }),
    [],
  );
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Poll while a condition holds (live progress). */
export function usePoll(fn: () => void, ms: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(() => saved.current(), ms);
    return () => window.clearInterval(t);
  }, [ms, active]);
}

export function Page(props: {
  title: string;
  subtitle?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>{props.title}</h1>
          {props.subtitle && <p class="muted">{props.subtitle}</p>}
        </div>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

export function ErrorBox(props: {
  error?: string | undefined;
  title?: string;
}): JSX.Element | null {
  if (!props.error) return null;
  return (
    <div class="error" role="alert">
      {props.title && <strong>{props.title}: </strong>}
      {props.error}
    </div>
  );
}

export function Notice(props: {
  kind?: 'info' | 'ok' | 'warn';
  children: ComponentChildren;
}): JSX.Element {
  return (
    <div class={`notice ${props.kind ?? 'info'}`} role="status">
      {props.children}
    </div>
  );
}

/**
 * What a part of a page needs that the person's grants do not give: said instead of asked, since
 * every refused call is an authz.denied event in the audit trail (docs/architecture.md).
 */
export function NeedsGrant(props: { testId: string; children: ComponentChildren }): JSX.Element {
  return (
    <Notice kind="warn">
      <span data-testid={props.testId}>{props.children}</span>
    </Notice>
  );
}

export function Loading(props: { what?: string }): JSX.Element {
  return <p class="muted loading">Loading{props.what ? ` ${props.what}` : ''}…</p>;
}

/** Data or its absence, never a blank page. */
export function Async<T>(props: {
  state: { data: T | undefined; error: string | undefined; loading: boolean };
  what?: string;
  children: (data: T) => ComponentChildren;
}): JSX.Element {
  const { data, error, loading } = props.state;
  if (error) return <ErrorBox error={error} title={`Could not load ${props.what ?? 'this'}`} />;
  if (data === undefined) return loading ? <Loading what={props.what} /> : <></>;
  return <>{props.children(data)}</>;
}

export interface Column<T> {
  label: string;
  render: (row: T) => ComponentChildren;
  class?: string;
}

export function Table<T>(props: {
  rows: T[];
  columns: Column<T>[];
  empty?: string;
  rowKey: (row: T) => string;
  onRow?: (row: T) => void;
  testId?: string;
}): JSX.Element {
  if (props.rows.length === 0)
    return <p class="muted empty">{props.empty ?? 'Nothing here yet.'}</p>;
  return (
    <div class="table-wrap">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th class={c.class}>{c.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr
              key={props.rowKey(r)}
              class={props.onRow ? 'clickable' : undefined}
              onClick={props.onRow ? () => props.onRow!(r) : undefined}
            >
              {props.columns.map((c) => (
                <td class={c.class}>{c.render(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const tones: Record<string, string> = {
  critical: 'red',
  high: 'red',
  medium: 'amber',
  low: 'blue',
  informational: 'grey',
  open: 'red',
  reopened: 'red',
  acknowledged: 'amber',
  suppressed: 'grey',
  resolved: 'green',
  ok: 'green',
  active: 'green',
  complete: 'green',
  completed: 'green',
  succeeded: 'green',
  approved: 'green',
  effective: 'green',
  intact: 'green',
  verified: 'green',
  partial: 'amber',
  pending: 'amber',
  queued: 'amber',
  running: 'blue',
  in_review: 'amber',
  draft: 'grey',
  denied: 'red',
  error: 'red',
  failed: 'red',
  rejected: 'red',
  revoked: 'red',
  disconnected: 'grey',
  broken: 'red',
  rolled_back: 'amber',
  withdrawn: 'grey',
  superseded: 'grey',
  retired: 'grey',
  production: 'red',
  staging: 'amber',
  development: 'blue',
};

export function Badge(props: { value: string | null | undefined; tone?: string }): JSX.Element {
  const v = props.value ?? '—';
  return <span class={`badge ${props.tone ?? tones[v] ?? 'grey'}`}>{v.replace(/_/g, ' ')}</span>;
}

export function Time(props: { at: string | null | undefined }): JSX.Element {
  if (!props.at) return <span class="muted">—</span>;
  const d = new Date(props.at);
  return (
    <time dateTime={d.toISOString()} title={d.toISOString()}>
      {d.toISOString().replace('T', ' ').slice(0, 19)} UTC
    </time>
  );
}

export function Mono(props: { children: ComponentChildren; title?: string }): JSX.Element {
  return (
    <code class="mono" title={props.title}>
      {props.children}
    </code>
  );
}

export function short(id: string | null | undefined, n = 8): string {
  return id ? id.slice(0, n) : '—';
}

export function Json(props: { value: unknown }): JSX.Element {
  return <pre class="json">{JSON.stringify(props.value, null, 2)}</pre>;
}

export function Field(props: {
  label: string;
  hint?: string;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <label class="field">
      <span class="label">{props.label}</span>
      {props.children}
      {props.hint && <span class="hint">{props.hint}</span>}
    </label>
  );
}

/** A form whose submit shows progress and the server's error, and never double-submits. */
export function Form(props: {
  onSubmit: () => Promise<void>;
  submit: string;
  children: ComponentChildren;
  danger?: boolean;
  testId?: string;
}): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <form
      class="form"
      data-testid={props.testId}
      onSubmit={(e) => {
        e.preventDefault();
        if (busy) return;
        setBusy(true);
        setError(undefined);
        props.onSubmit().then(
          () => setBusy(false),
          (err: unknown) => {
            setBusy(false);
            setError(describeError(err));
          },
        );
      }}
    >
      {props.children}
      <ErrorBox error={error} />
      <div class="form-actions">
        <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy}>
          {busy ? 'Working…' : props.submit}
        </button>
      </div>
    </form>
  );
}

export function Button(props: {
  onClick: () => Promise<void> | void;
  children: ComponentChildren;
  kind?: 'primary' | 'danger' | 'plain';
  disabled?: boolean;
  testId?: string;
}): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <span class="button-wrap">
      <button
        type="button"
        data-testid={props.testId}
        class={props.kind ?? 'plain'}
        disabled={props.disabled || busy}
        onClick={() => {
          setBusy(true);
          setError(undefined);
          Promise.resolve(props.onClick()).then(
            () => setBusy(false),
            (e: unknown) => {
              setBusy(false);
              setError(describeError(e));
            },
          );
        }}
      >
        {busy ? 'Working…' : props.children}
      </button>
      {error && (
        <span class="inline-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}): JSX.Element {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') props.onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [props.onClose]);
  return (
    <div class="overlay" onClick={props.onClose}>
      <div
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-label={props.title}
        onClick={(e) => e.stopPropagation()}
      >
        <header>
          <h2>{props.title}</h2>
          <button type="button" class="plain close" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

export function Tabs(props: {
  tabs: Array<{ id: string; label: string }>;
  active: string;
  onChange: (id: string) => void;
}): JSX.Element {
  return (
    <nav class="tabs" role="tablist">
      {props.tabs.map((t) => (
        <button
          type="button"
          role="tab"
          aria-selected={t.id === props.active}
          class={t.id === props.active ? 'tab active' : 'tab'}
          onClick={() => props.onChange(t.id)}
        >
          {t.label}
        </button>
      ))}
    </nav>
  );
}

export function Dl(props: { items: Array<[string, ComponentChildren]> }): JSX.Element {
  return (
    <dl class="dl">
      {props.items.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}

/** Copy-to-clipboard and download for onboarding material and previews. */
export function CopyBlock(props: { text: string; filename?: string; label?: string }): JSX.Element {
  const [copied, setCopied] = useState(false);
  return (
    <div class="copy-block">
      <div class="copy-actions">
        {props.label && <span class="label">{props.label}</span>}
        <button
          type="button"
          class="plain"
          onClick={() => {
            void navigator.clipboard?.writeText(props.text).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        {props.filename && (
          <a
            class="button plain"
            download={props.filename}
            href={`data:text/plain;charset=utf-8,${encodeURIComponent(props.text)}`}
          >
            Download
          </a>
        )}
      </div>
      <pre class="code">{props.text}</pre>
    </div>
  );
}

/** The reason a change asks for: three characters at least, kept in the audit trail with it. */
export function ReasonField(props: {
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  name?: string;
}): JSX.Element {
  return (
    <Field label="Reason" hint={props.hint}>
      <input
        name={props.name}
        required
        minLength={3}
        value={props.value}
        onInput={(e) => props.onChange((e.target as HTMLInputElement).value)}
      />
    </Field>
  );
}
