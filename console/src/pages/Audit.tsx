// The audit log (audit:read): filters, one page at a time, the hash chain's integrity, and an export of what the
// filters' time range covers (/api/audit/export, CSV or JSON lines).
import { useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { AuditAllowedDocument, AuditDocument, AuditIntegrityDocument, type AuditEventFilter, type AuditOutcome } from '../generated/graphql';
import { DownloadLink, Empty, ErrorBox, Loading, Time, usePageTitle } from '../ui';

const OUTCOMES: AuditOutcome[] = ['OK', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT',
  'FAILED_PRECONDITION', 'INTERNAL'];
const FIELDS = ['actor', 'action', 'targetType', 'outcome', 'from', 'to'] as const;
type Draft = Record<(typeof FIELDS)[number], string>;
const EMPTY: Draft = { actor: '', action: '', targetType: '', outcome: '', from: '', to: '' };

function toFilter(draft: Draft): AuditEventFilter {
  const iso = (value: string) => (value ? new Date(value).toISOString() : undefined);
  return {
    actor: draft.actor || undefined,
    action: draft.action || undefined,
    targetType: draft.targetType || undefined,
    outcome: OUTCOMES.includes(draft.outcome as AuditOutcome) ? (draft.outcome as AuditOutcome) : undefined,
    from: iso(draft.from),
    to: iso(draft.to),
  };
}

export function AuditPage() {
  const heading = usePageTitle('Audit');
  const [{ data: allowed, error }] = useQuery({ query: AuditAllowedDocument });
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title" ref={heading}>Audit</h1>
      {error && !allowed ? <ErrorBox error={error} />
        : !allowed ? <Loading what="your permissions" />
          : !allowed.viewer?.canReadAudit
            ? <div className="notice denied" data-testid="denied"><h2>Not allowed</h2><p>Reading the audit log needs the <code>audit:read</code> permission (the auditor role).</p></div>
            : <AuditLog />}
    </section>
  );
}

function AuditLog() {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Draft>(EMPTY);
  const [after, setAfter] = useState<string[]>([]); // cursors of the pages before, for going back
  const filter = toFilter(applied);
  const [{ data, error, fetching }] = useQuery({
    query: AuditDocument, variables: { filter, first: 25, after: after[after.length - 1] },
  });
  const [{ data: integrity, error: integrityError, fetching: checking }, recheck] = useQuery({ query: AuditIntegrityDocument });
  const set = (name: keyof Draft) => (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied(draft);
    setAfter([]);
  };
  const exportQuery = (format: string) => {
    const params = new URLSearchParams({ format });
    if (filter.from) params.set('from', filter.from);
    if (filter.to) params.set('to', filter.to);
    return `/api/audit/export?${params}`;
  };
  const chain = integrity?.auditIntegrity;
  const connection = data?.auditEvents;
  return (
    <>
      <div className={`notice ${chain && !chain.ok ? 'error' : ''}`} data-testid="integrity" role="status">
        {integrityError ? <ErrorBox error={integrityError} title="Integrity check failed" />
          : !chain ? 'Checking the hash chain…'
            : chain.ok ? <>Hash chain intact: {chain.checkedEvents} events checked{chain.headSequence != null ? `, head #${chain.headSequence}` : ''}.</>
              : <>Hash chain broken at event #{chain.firstBrokenSequence}: {chain.problem}</>}
        {' '}<button type="button" className="small" onClick={() => recheck({ requestPolicy: 'network-only' })} disabled={checking}>Check again</button>
      </div>
      <form className="filters" role="search" aria-label="Filter audit events" onSubmit={apply}>
        <label>Actor <input value={draft.actor} onChange={set('actor')} /></label>
        <label>Action <input value={draft.action} onChange={set('action')} placeholder="transition.approve" /></label>
        <label>Target type <input value={draft.targetType} onChange={set('targetType')} placeholder="ModelVersion" /></label>
        <label>Outcome
          <select value={draft.outcome} onChange={set('outcome')}>
            <option value="">Any</option>
            {OUTCOMES.map((outcome) => <option key={outcome} value={outcome}>{outcome}</option>)}
          </select>
        </label>
        <label>From <input type="datetime-local" value={draft.from} onChange={set('from')} /></label>
        <label>To <input type="datetime-local" value={draft.to} onChange={set('to')} /></label>
        <button type="submit" className="primary">Apply</button>
      </form>
      <p className="export">Export {filter.from || filter.to ? 'the chosen time range' : 'everything'}:{' '}
        <DownloadLink url={exportQuery('csv')} path="audit.csv" label="CSV" testId="export-csv" />{' · '}
        <DownloadLink url={exportQuery('jsonl')} path="audit.jsonl" label="JSON lines" testId="export-jsonl" />
      </p>
      {error && !data ? <ErrorBox error={error} />
        : !connection ? (fetching ? <Loading what="audit events" /> : null)
          : connection.nodes.length === 0 ? <Empty>No audit event matches these filters.</Empty>
            : (
              <>
                <table className="grid compact" data-testid="audit" aria-busy={fetching}>
                  <caption className="sr-only">Audit events</caption>
                  <thead><tr><th scope="col" className="num">#</th><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Outcome</th><th scope="col">Detail</th></tr></thead>
                  <tbody>{connection.nodes.map((event) => (
                    <tr key={event.id} data-testid="audit-row">
                      <td className="num">{event.sequence}</td>
                      <td><Time value={event.occurredAt} /></td>
                      <td>{event.actor.subject}{event.actorRoles.length ? <span className="sub"> ({event.actorRoles.join(', ')})</span> : null}</td>
                      <td><code>{event.action}</code></td>
                      <td>{event.target.type}{event.target.name ? ` ${event.target.name}` : ''}</td>
                      <td><span className={`badge ${event.outcome === 'OK' ? 'status-ready' : 'status-failed'}`}>{event.outcome}</span></td>
                      <td>{event.detail ?? ''}</td>
                    </tr>
                  ))}</tbody>
                </table>
                <nav className="pager" aria-label="Pages">
                  <span data-testid="total">{connection.totalCount ?? '?'} in all</span>
                  {after.length > 0 ? <button type="button" onClick={() => setAfter(after.slice(0, -1))}>← Newer</button> : null}
                  {connection.pageInfo.hasNextPage && connection.pageInfo.endCursor
                    ? <button type="button" onClick={() => setAfter([...after, connection.pageInfo.endCursor!])}>Older →</button> : null}
                </nav>
              </>
            )}
    </>
  );
}
