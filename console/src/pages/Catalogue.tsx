// The catalogue: models filtered by name, tag, owner, use case and risk tier (and, with a stage or a metric
// threshold, the versions that match: both belong to versions), sorted, one page at a time with the connection's
// cursors. Every filter lives in the URL, so a view can be shared.
import { useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import {
  CatalogueByStageDocument, CatalogueDocument, type ModelVersionFilter, type RegisteredModelFilter,
  type RegisteredModelOrderField, type OrderDirection, type RiskTier, type Stage, type TagMatch,
} from '../generated/graphql';
import { catalogueHref, modelHref, versionHref } from '../router';
import { Empty, ErrorBox, Loading, StageBadge, Tags, Time, usePageTitle } from '../ui';

const STAGES: Stage[] = ['NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED'];
const SORTS: Record<string, [RegisteredModelOrderField, OrderDirection, string]> = {
  'updated-desc': ['UPDATED_AT', 'DESC', 'Recently updated'],
  'created-desc': ['CREATED_AT', 'DESC', 'Newest'],
  'created-asc': ['CREATED_AT', 'ASC', 'Oldest'],
  'name-asc': ['NAME', 'ASC', 'Name A–Z'],
  'name-desc': ['NAME', 'DESC', 'Name Z–A'],
};
const FIELDS = ['q', 'tag', 'owner', 'use', 'risk', 'stage', 'metric', 'min', 'sort'] as const;
const RISKS: RiskTier[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

function tagMatch(text: string): TagMatch[] | undefined {
  const clean = text.trim();
  if (!clean) return undefined;
  const at = clean.indexOf('=');
  return [at < 0 ? { key: clean } : { key: clean.slice(0, at), value: clean.slice(at + 1) }];
}

export function CataloguePage({ params }: { params: URLSearchParams }) {
  const heading = usePageTitle('Catalogue');
  const get = (name: string) => params.get(name) || '';
  const size = Math.min(Math.max(Number(get('size')) || 20, 1), 100);
  const paging = get('before') ? { last: size, before: get('before') } : { first: size, after: get('after') || undefined };
  const stage = STAGES.includes(get('stage') as Stage) ? (get('stage') as Stage) : null;
  const filter: ModelVersionFilter = {
    name: get('q') ? { contains: get('q') } : undefined,
    tags: tagMatch(get('tag')),
    owner: get('owner') || undefined,
  };
  const modelFilter: RegisteredModelFilter = {
    ...filter,
    useCase: get('use') ? { contains: get('use') } : undefined,
    riskTier: RISKS.includes(get('risk') as RiskTier) ? [get('risk') as RiskTier] : undefined,
  };
  const threshold = get('metric') && get('min') !== '' && Number.isFinite(Number(get('min')))
    ? [{ name: get('metric'), gte: Number(get('min')) }] : undefined;
  const current = Object.fromEntries(FIELDS.map((name) => [name, get(name)])) as Record<string, string>;
  if (get('size')) current.size = get('size');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" ref={heading}>Catalogue</h1>
      <Filters key={params.toString()} current={current} />
      {stage || threshold
        ? <VersionsInStage filter={{ ...filter, stage: stage ? [stage] : undefined, metrics: threshold }} paging={paging} current={current}
                           metric={threshold ? get('metric') : ''} />
        : <Models filter={modelFilter} sort={get('sort')} paging={paging} current={current} />}
    </section>
  );
}

function Filters({ current }: { current: Record<string, string> }) {
  const [draft, setDraft] = useState(current);
  const set = (name: string) => (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    window.location.hash = catalogueHref({
      ...Object.fromEntries(FIELDS.map((name) => [name, (draft[name] || '').trim()])), size: current.size || '',
    });
  };
  return (
    <form className="filters" role="search" aria-label="Filter models" onSubmit={apply}>
      <label>Name contains <input name="q" type="search" value={draft.q} onChange={set('q')} /></label>
      <label>Tag <input name="tag" placeholder="key or key=value" value={draft.tag} onChange={set('tag')} /></label>
      <label>Owner <input name="owner" value={draft.owner} onChange={set('owner')} /></label>
      <label>Use case <input name="use" value={draft.use} onChange={set('use')} /></label>
      <label>Risk tier
        <select name="risk" value={draft.risk} onChange={set('risk')}>
          <option value="">Any</option>
          {RISKS.map((risk) => <option key={risk} value={risk}>{risk}</option>)}
        </select>
      </label>
      <label>Stage
        <select name="stage" value={draft.stage} onChange={set('stage')}>
          <option value="">Any (models)</option>
          {STAGES.map((stage) => <option key={stage} value={stage}>{stage} (versions)</option>)}
        </select>
      </label>
      <label>Metric <input name="metric" placeholder="auc" size={8} value={draft.metric} onChange={set('metric')} /></label>
      <label>at least <input name="min" type="number" step="any" size={6} value={draft.min} onChange={set('min')} /></label>
      <label>Sort
        <select name="sort" value={draft.sort || 'updated-desc'} onChange={set('sort')}>
          {Object.entries(SORTS).map(([key, [, , label]]) => <option key={key} value={key}>{label}</option>)}
        </select>
      </label>
      <button type="submit" className="primary">Apply</button>
      <a href="#/" className="reset">Reset</a>
    </form>
  );
}

interface PageInfo { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null }

function Pager({ pageInfo, total, shown, current }: { pageInfo: PageInfo; total: number | null; shown: number; current: Record<string, string> }) {
  return (
    <nav className="pager" aria-label="Pages">
      <span data-testid="total">{total ?? '?'} in all · {shown} shown</span>
      {pageInfo.hasPreviousPage && pageInfo.startCursor
        ? <a href={catalogueHref({ ...current, before: pageInfo.startCursor })} rel="prev">← Previous</a>
        : <span className="disabled" aria-hidden="true">← Previous</span>}
      {pageInfo.hasNextPage && pageInfo.endCursor
        ? <a href={catalogueHref({ ...current, after: pageInfo.endCursor })} rel="next">Next →</a>
        : <span className="disabled" aria-hidden="true">Next →</span>}
    </nav>
  );
}

type Paging = { first?: number; after?: string; last?: number; before?: string };

function Models({ filter, sort, paging, current }: { filter: RegisteredModelFilter; sort: string; paging: Paging; current: Record<string, string> }) {
  const [field, direction] = SORTS[sort] || SORTS['updated-desc'];
  const [{ data, error, fetching }] = useQuery({
    query: CatalogueDocument,
    variables: { filter, orderBy: { field, direction }, ...paging },
  });
  if (error && !data) return <ErrorBox error={error} />;
  const connection = data?.registeredModels;
  if (!connection) return fetching ? <Loading what="models" /> : <Empty>No answer from the server.</Empty>;
  if (!connection.edges.length) {
    return <Empty><p>No model matches these filters.</p><p><a href="#/">Show every model</a></p></Empty>;
  }
  return (
    <>
      <table className="grid" data-testid="models" aria-busy={fetching}>
        <caption className="sr-only">Models</caption>
        <thead>
          <tr><th scope="col">Model</th><th scope="col">Owner</th><th scope="col">Latest version</th><th scope="col">Aliases</th><th scope="col">Tags</th><th scope="col">Updated</th></tr>
        </thead>
        <tbody>
          {connection.edges.map(({ node: model }) => (
            <tr key={model.id} data-testid="model-row">
              <th scope="row"><a href={modelHref(model.name)} data-testid="model-link">{model.name}</a>
                {model.useCase && <div className="sub">{model.useCase}{model.riskTier ? ` · ${model.riskTier} risk` : ''}</div>}
              </th>
              <td>{model.owner}</td>
              <td>{model.latestVersion
                ? <><a href={versionHref(model.name, model.latestVersion.version)}>v{model.latestVersion.version}</a> <StageBadge stage={model.latestVersion.stage} /></>
                : <span className="sub">no versions</span>}</td>
              <td>{model.aliases.map((alias) => <span key={alias.id} className="alias">@{alias.alias} → v{alias.version}</span>)}</td>
              <td><Tags tags={model.tags} /></td>
              <td><Time value={model.updatedAt} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={connection.pageInfo} total={connection.totalCount} shown={connection.edges.length} current={current} />
    </>
  );
}

function VersionsInStage({ filter, paging, current, metric }: {
  filter: ModelVersionFilter; paging: Paging; current: Record<string, string>; metric: string;
}) {
  const [{ data, error, fetching }] = useQuery({ query: CatalogueByStageDocument, variables: { filter, ...paging } });
  if (error && !data) return <ErrorBox error={error} />;
  const connection = data?.modelVersions;
  if (!connection) return fetching ? <Loading what="versions" /> : <Empty>No answer from the server.</Empty>;
  if (!connection.edges.length) {
    return <Empty><p>No version matches these filters.</p><p><a href="#/">Show every model</a></p></Empty>;
  }
  return (
    <>
      <table className="grid" data-testid="versions" aria-busy={fetching}>
        <caption className="sr-only">Matching versions</caption>
        <thead><tr><th scope="col">Version</th><th scope="col">Stage</th>{metric && <th scope="col" className="num">{metric}</th>}<th scope="col">Owner</th><th scope="col">Tags</th><th scope="col">Created</th></tr></thead>
        <tbody>
          {connection.edges.map(({ node: version }) => (
            <tr key={version.id} data-testid="version-row">
              <th scope="row"><a href={modelHref(version.name)}>{version.name}</a> / <a href={versionHref(version.name, version.version)}>v{version.version}</a></th>
              <td><StageBadge stage={version.stage} /></td>
              {metric && <td className="num" data-testid="metric-value">{version.metrics.find((m) => m.name === metric)?.value ?? '—'}</td>}
              <td>{version.model.owner}</td>
              <td><Tags tags={version.tags} /></td>
              <td><Time value={version.createdAt} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pageInfo={connection.pageInfo} total={connection.totalCount} shown={connection.edges.length} current={current} />
    </>
  );
}
