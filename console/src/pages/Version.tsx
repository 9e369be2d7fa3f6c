// A version: URI with copy, metrics, params, signature, files with download links, documents (Markdown rendered
// safely), stage history, transition requests, and a stage request form when the viewer may request one.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { RequestStageTransitionDocument, VersionPageDocument, type Stage } from '../generated/graphql';
import { renderMarkdown } from '../markdown';
import { lineageHref, modelHref } from '../router';
import {
  CopyButton, DownloadLink, Empty, ErrorBox, formatBytes, formatMetric, Loading, StageBadge, StatusBadge, Tags, Time, usePageTitle,
} from '../ui';
import { RequestCard } from './Requests';

const TARGETS: Stage[] = ['STAGING', 'PRODUCTION', 'ARCHIVED'];

export function VersionPage({ name, version }: { name: string; version: number }) {
  const heading = usePageTitle(`${name} v${version}`);
  const [{ data, error, fetching }, refetch] = useQuery({ query: VersionPageDocument, variables: { name, version } });
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const mv = data?.modelVersion;
  if (error && !data) return <><h1 ref={heading}>{name} v{version}</h1><ErrorBox error={error} /></>;
  if (!mv) {
    if (fetching) return <Loading what="the version" />;
    return (
      <div className="notice" data-testid="not-found">
        <h1 ref={heading}>No version {version} of “{name}”</h1>
        <p>See the versions of <a href={modelHref(name)}>{name}</a>.</p>
      </div>
    );
  }
  const files = mv.artifact?.files ?? [];
  return (
    <article aria-labelledby="version-title">
      <p className="crumbs"><a href="#/">Catalogue</a> / <a href={modelHref(mv.name)}>{mv.name}</a> /</p>
      <h1 id="version-title" ref={heading}><span data-testid="version-name">{mv.name}</span> v{mv.version} <StageBadge stage={mv.stage} /> <StatusBadge status={mv.status} /></h1>
      <p className="uri"><code data-testid="uri">{mv.uri}</code> <CopyButton text={mv.uri} label={`Copy ${mv.uri}`} /></p>
      {mv.aliases.length > 0 && <p>{mv.aliases.map((alias) => <span key={alias.id} className="alias" title={alias.uri}>@{alias.alias}</span>)}</p>}
      {mv.description && <p className="description">{mv.description}</p>}
      {mv.statusMessage && <p className="sub">{mv.statusMessage}</p>}
      <dl className="facts">
        <dt>Created</dt><dd><Time value={mv.createdAt} /> by {mv.createdBy.subject}</dd>
        {mv.flavor && <><dt>Flavor</dt><dd>{mv.flavor}</dd></>}
        {mv.run && <><dt>Run</dt><dd>{mv.run.tracker} <code>{mv.run.runId}</code></dd></>}
        {mv.code && <><dt>Code</dt><dd>{mv.code.repositoryUrl} <code>{mv.code.commitSha.slice(0, 12)}</code></dd></>}
      </dl>
      <Tags tags={mv.tags} />

      <div className="two">
        <section aria-labelledby="metrics-title">
          <h2 id="metrics-title">Metrics</h2>
          {mv.metrics.length ? (
            <table className="grid compact" data-testid="metrics">
              <thead><tr><th scope="col">Name</th><th scope="col" className="num">Value</th><th scope="col">Dataset</th></tr></thead>
              <tbody>{mv.metrics.map((metric, index) => (
                <tr key={index}><th scope="row">{metric.name}</th><td className="num">{formatMetric(metric.value)}</td><td>{metric.dataset ?? '—'}</td></tr>
              ))}</tbody>
            </table>
          ) : <Empty>No metrics recorded.</Empty>}
        </section>
        <section aria-labelledby="params-title">
          <h2 id="params-title">Parameters</h2>
          {mv.params.length ? (
            <table className="grid compact" data-testid="params">
              <thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
              <tbody>{mv.params.map((param) => <tr key={param.name}><th scope="row">{param.name}</th><td><code>{param.value}</code></td></tr>)}</tbody>
            </table>
          ) : <Empty>No parameters recorded.</Empty>}
        </section>
      </div>

      <section aria-labelledby="lineage-title">
        <h2 id="lineage-title">Lineage</h2>
        <LineagePreview lineage={mv.lineage} rootId={mv.id} />
        <p><a href={lineageHref(mv.id)} data-testid="lineage-explorer-link">Open in the lineage explorer</a></p>
      </section>

      <section aria-labelledby="signature-title">
        <h2 id="signature-title">Signature</h2>
        {mv.signature != null
          ? <pre className="code-block" data-testid="signature" tabIndex={0}>{JSON.stringify(mv.signature, null, 2)}</pre>
          : <Empty>No signature.</Empty>}
      </section>

      <section aria-labelledby="files-title">
        <h2 id="files-title">Files</h2>
        {files.length ? (
          <table className="grid compact" data-testid="files">
            <thead><tr><th scope="col">Path</th><th scope="col" className="num">Size</th><th scope="col">Type</th><th scope="col">Digest</th></tr></thead>
            <tbody>{files.map((file) => (
              <tr key={file.path}>
                <th scope="row"><DownloadLink url={file.downloadUrl} path={file.path} /></th>
                <td className="num">{formatBytes(file.size)}</td><td>{file.mediaType}</td><td><code title={file.digest}>{file.digest.slice(0, 19)}…</code></td>
              </tr>
            ))}</tbody>
          </table>
        ) : <Empty>{mv.artifact ? 'The artifact has no files listed.' : 'No artifact files.'}</Empty>}
      </section>

      <section aria-labelledby="documents-title">
        <h2 id="documents-title">Documents</h2>
        {mv.documents.nodes.length ? mv.documents.nodes.map((doc) => (
          <details key={doc.id} className="document" data-testid="document" open={mv.documents.nodes.length === 1}>
            <summary><span className="badge">{doc.kind}</span> <span data-testid="document-title">{doc.title}</span> <span className="sub">rev {doc.revision}, <Time value={doc.createdAt} /> by {doc.createdBy.subject}</span></summary>
            {doc.markdown != null
              ? <div className="markdown" data-testid="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(doc.markdown) }} />
              : <p className="sub">Stored as a file: <code>{doc.artifactDigest}</code></p>}
          </details>
        )) : <Empty>No documents. A PRODUCTION request needs a MODEL_CARD (attachDocument).</Empty>}
      </section>

      <section aria-labelledby="requests-title">
        <h2 id="requests-title">Transition requests</h2>
        {data?.viewer?.canRequest && <RequestForm name={mv.name} version={mv.version} stage={mv.stage} onDone={refresh} />}
        {mv.transitionRequests.nodes.length
          ? <ul className="requests" data-testid="requests">{mv.transitionRequests.nodes.map((request) => (
              <RequestCard key={request.id} request={request} onChanged={refresh} />
            ))}</ul>
          : <Empty>No transition requests.</Empty>}
      </section>

      <section aria-labelledby="history-title">
        <h2 id="history-title">Stage history</h2>
        {mv.stageHistory.nodes.length ? (
          <ol className="history" data-testid="history">{mv.stageHistory.nodes.map((change) => (
            <li key={change.id}><StageBadge stage={change.fromStage} /> → <StageBadge stage={change.toStage} /> <Time value={change.changedAt} /> by {change.changedBy.subject}{change.reason ? ` — ${change.reason}` : ''}</li>
          ))}</ol>
        ) : <Empty>Never moved: the version is in {mv.stage}.</Empty>}
      </section>
    </article>
  );
}

function RequestForm({ name, version, stage, onDone }: { name: string; version: number; stage: string; onDone: () => void }) {
  const options = TARGETS.filter((target) => target !== stage);
  const [toStage, setToStage] = useState<Stage>(options[0]);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<CombinedError | null>(null);
  const [{ fetching }, request] = useMutation(RequestStageTransitionDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await request({ input: { name, version, toStage, comment: comment.trim() || null } });
    setError(result.error ?? null);
    if (!result.error) {
      setComment('');
      onDone();
    }
  };
  return (
    <form className="request-form" onSubmit={submit} data-testid="request-form">
      <label>Move to
        <select value={toStage} onChange={(event) => setToStage(event.target.value as Stage)} data-testid="request-stage">
          {options.map((target) => <option key={target} value={target}>{target}</option>)}
        </select>
      </label>
      <label>Comment <input value={comment} onChange={(event) => setComment(event.target.value)} /></label>
      <button type="submit" className="primary" disabled={fetching} data-testid="request-submit">Request</button>
      {error && <ErrorBox error={error} title="The request was refused" />}
    </form>
  );
}

/** What the version was made from, one hop upstream: each source with the edge that links it. */
function LineagePreview({ lineage, rootId }: {
  lineage: { truncated: boolean; nodes: ReadonlyArray<{ id: string; kind: string; label: string; depth: number }>;
             edges: ReadonlyArray<{ kind: string; upstreamId: string; downstreamId: string; relation: string | null }> };
  rootId: string;
}) {
  const sources = lineage.edges.filter((edge) => edge.downstreamId === rootId);
  if (!sources.length) return <Empty>No recorded sources (run, code, datasets, parent versions).</Empty>;
  const byId = new Map(lineage.nodes.map((node) => [node.id, node]));
  return (
    <ul className="lineage" data-testid="lineage">
      {sources.map((edge) => {
        const node = byId.get(edge.upstreamId);
        return (
          <li key={`${edge.kind}-${edge.upstreamId}`}>
            <span className="badge">{node?.kind ?? 'NODE'}</span> {node?.label ?? edge.upstreamId}{' '}
            <span className="sub">{edge.kind.toLowerCase().replace(/_/g, ' ')}{edge.relation ? ` (${edge.relation})` : ''}</span>
          </li>
        );
      })}
      {lineage.truncated && <li className="sub">More in the explorer.</li>}
    </ul>
  );
}
