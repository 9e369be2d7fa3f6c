// Shared pieces: states (loading, empty, error, denied), stage badges, tags, times. Everything user-provided is
// rendered as React text (escaped), never as HTML.
import { useEffect, useRef, useState, type MouseEvent, type ReactNode } from 'react';
import { authHeaders, currentToken } from './auth';
import type { CombinedError } from 'urql';

export interface ApiProblem {
  code: string;
  message: string;
}

export function problemsOf(error: CombinedError): ApiProblem[] {
  const problems = error.graphQLErrors.map((item) => ({
    code: String(item.extensions?.code ?? 'ERROR'),
    message: item.message,
  }));
  if (error.networkError) problems.push({ code: 'NETWORK', message: error.networkError.message });
  return problems.length ? problems : [{ code: 'ERROR', message: error.message }];
}

const DENIED: Record<string, string> = {
  UNAUTHENTICATED: 'Sign in or set a token in the bar above to see this.',
  FORBIDDEN: 'Your roles do not allow this.',
};

export function ErrorBox({ error, title = 'The server refused this' }: { error: CombinedError; title?: string }) {
  const problems = problemsOf(error);
  const denied = problems.find((p) => p.code in DENIED);
  return (
    <div className={`notice ${denied ? 'denied' : 'error'}`} role="alert" data-testid="error" data-code={problems[0].code}>
      <h2>{denied ? (denied.code === 'FORBIDDEN' ? 'Not allowed' : 'Not signed in') : title}</h2>
      {denied && <p>{DENIED[denied.code]}</p>}
      <ul>
        {problems.map((problem, index) => (
          <li key={index}><code className="code">{problem.code}</code> {problem.message}</li>
        ))}
      </ul>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="loading" role="status" aria-live="polite" data-testid="loading">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty" data-testid="empty">{children}</div>;
}

export function StageBadge({ stage }: { stage: string }) {
  return <span className={`badge stage-${stage.toLowerCase()}`} data-testid="stage">{stage}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{status}</span>;
}

export function Tags({ tags }: { tags: ReadonlyArray<{ key: string; value: string }> }) {
  if (!tags.length) return null;
  return (
    <ul className="tags" aria-label="Tags">
      {tags.map((tag) => (
        <li key={tag.key} className="tag" data-testid="tag">{tag.value ? `${tag.key}=${tag.value}` : tag.key}</li>
      ))}
    </ul>
  );
}

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span>—</span>;
  const date = new Date(value);
  return <time dateTime={value} title={value}>{Number.isNaN(date.getTime()) ? value : TIME.format(date)}</time>;
}

export function formatBytes(size: number | null | undefined): string {
  if (size == null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, '');
}

/** The page's title for the browser tab, and focus moved to the page's heading for screen readers. */
export function usePageTitle(title: string) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · modelreg`;
  }, [title]);
  return heading;
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    window.setTimeout(() => setState('idle'), 2000);
  };
  return (
    <>
      <button type="button" className="small" onClick={copy} aria-label={label}>Copy</button>
      <span role="status" className="copy-status">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text' : ''}</span>
    </>
  );
}

/** A file link: a plain link with the browser session's cookie; with a bearer token (which a link cannot carry),
 * the file is fetched with it and handed to the browser as a download. */
export function DownloadLink({ url, path, label, testId = 'file-link' }: { url: string; path: string; label?: string; testId?: string }) {
  const [problem, setProblem] = useState('');
  const name = path.split('/').pop() || 'download';
  const download = async (event: MouseEvent) => {
    if (!currentToken()) return;
    event.preventDefault();
    setProblem('');
    const response = await fetch(url, { headers: authHeaders() });
    if (!response.ok) {
      setProblem(`HTTP ${response.status}`);
      return;
    }
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    window.setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  };
  return (
    <>
      <a href={url} download={name} onClick={download} data-testid={testId}>{label ?? path}</a>
      {problem && <span className="sub" role="alert"> download failed: {problem}</span>}
    </>
  );
}
